-- FieldCRM device store, schema 4: a customer's visits, newest first, for its detail screen.
CREATE INDEX visits_customer_day ON visits(customer_id, day_at);
