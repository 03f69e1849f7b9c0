//! Worked examples: a fixed set of tickets (see `fixture`), every figure computed by hand in
//! the comments beside the expected values.

mod edges;
mod fixture;
mod kpis;
mod window;
