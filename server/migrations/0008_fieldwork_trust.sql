-- FieldCRM server schema, version 8: check-in verification a device cannot launder, and the
-- indexes the push path needs (see fieldwork.rs).

-- Visits waiting for their customer's first location: re-verified when it arrives, without
-- reading the customer's other visits.
CREATE INDEX visit_facts_customer_unlocated ON visit_facts (customer_id)
    WHERE verification = 'no_customer_location';

-- Every change of a customer's pin after the customer was first stored: who moved it, when
-- (server time, unix ms), from where to where, and how far (NULL when either end is unset).
CREATE TABLE pin_moves (
    id          INTEGER PRIMARY KEY,
    customer_id TEXT NOT NULL,
    moved_by    TEXT NOT NULL,
    moved_at    BIGINT NOT NULL,
    from_lat    REAL,
    from_lon    REAL,
    to_lat      REAL,
    to_lon      REAL,
    distance_m  REAL
);
CREATE INDEX pin_moves_customer ON pin_moves (customer_id, moved_at);

-- A check-in pushed together with a move of its customer's pin by the same rep, further than
-- the configured distance: the largest such move (metres), shown to the manager as a flag.
ALTER TABLE visit_facts ADD COLUMN pin_moved_m REAL;

-- A rep's overdue list: customers with a cadence in the rep's territories (the manager's comes
-- from `customer_places_cadence`, which leads with the team).
CREATE INDEX customer_places_territory_cadence ON customer_places (territory_id)
    WHERE cadence_days IS NOT NULL AND deleted = 0;
