-- The generations of the read model. The tables of each generation
-- (orderhistory_orders_g<N>, orderhistory_entries_g<N>) are created and
-- dropped by the adapter; these tables only say which exist and which is
-- active.
CREATE TABLE orderhistory_generations (
    generation   BIGINT PRIMARY KEY CHECK (generation >= 1),
    state        TEXT   NOT NULL CHECK (state IN ('building', 'active', 'retired')),
    created_at   BIGINT NOT NULL,
    activated_at BIGINT NOT NULL DEFAULT 0
);

-- The one-row pointer to the active generation; readers and the live
-- projector resolve it in each transaction, a rebuild switches it in one.
-- last_generation numbers new generations, so none is numbered twice.
CREATE TABLE orderhistory_active (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    generation      BIGINT  NOT NULL REFERENCES orderhistory_generations (generation),
    last_generation BIGINT  NOT NULL
);

INSERT INTO orderhistory_generations (generation, state, created_at, activated_at) VALUES (1, 'active', 0, 0);
INSERT INTO orderhistory_active (id, generation, last_generation) VALUES (1, 1, 1);
