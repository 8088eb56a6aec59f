-- The orders whose reservation was rejected for lack of stock, with the
-- shortage (JSON). The decision is final: reserving such an order again
-- returns the same shortage and publishes nothing, so a redelivered
-- request answers once.
CREATE TABLE stock_reservation_rejections (
    order_id    TEXT   PRIMARY KEY,
    shortage    TEXT   NOT NULL,
    rejected_at BIGINT NOT NULL
);
