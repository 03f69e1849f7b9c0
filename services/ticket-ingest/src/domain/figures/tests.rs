//! Worked examples of the support figures.
