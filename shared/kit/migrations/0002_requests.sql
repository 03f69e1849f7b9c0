-- AIP-155 request ids: the first call with a request id records its response here, in the
-- same transaction as its effects; a retry with the same id gets that response back.
CREATE TABLE requests (
    request_id  uuid PRIMARY KEY,
    method      text NOT NULL,
    -- SHA-256 of the encoded request: the same id with a different request is refused.
    fingerprint bytea NOT NULL,
    response    bytea,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX requests_created_at ON requests (created_at);
