-- The demo project of `make run`: project "demo", schema tenant_demo with a
-- few tables of sample data. Safe to run again (creates only what is missing).
INSERT INTO control_plane.projects (id, slug, name)
VALUES ('demo', 'demo', 'Demo project')
ON CONFLICT (id) DO NOTHING;

CREATE SCHEMA IF NOT EXISTS tenant_demo;

CREATE TABLE IF NOT EXISTS tenant_demo.customers (
  id bigserial PRIMARY KEY,
  name text NOT NULL,
  email text UNIQUE,
  country text,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS tenant_demo.orders (
  id bigserial PRIMARY KEY,
  customer_id bigint NOT NULL REFERENCES tenant_demo.customers(id),
  total numeric(12, 2) NOT NULL,
  items jsonb NOT NULL DEFAULT '[]',
  placed_at timestamptz NOT NULL DEFAULT now()
);

CREATE OR REPLACE VIEW tenant_demo.customer_totals AS
SELECT c.id, c.name, coalesce(sum(o.total), 0) AS total
FROM tenant_demo.customers c LEFT JOIN tenant_demo.orders o ON o.customer_id = c.id
GROUP BY c.id, c.name;

INSERT INTO tenant_demo.customers (name, email, country)
SELECT 'Customer ' || g, 'customer' || g || '@example.com', (ARRAY['DE','FR','PT','JP','BR'])[1 + g % 5]
FROM generate_series(1, 200) g
WHERE NOT EXISTS (SELECT 1 FROM tenant_demo.customers);

INSERT INTO tenant_demo.orders (customer_id, total, items)
SELECT 1 + g % 200, round((random() * 500)::numeric, 2),
       jsonb_build_array(jsonb_build_object('sku', 'SKU-' || g, 'qty', 1 + g % 4))
FROM generate_series(1, 1000) g
WHERE NOT EXISTS (SELECT 1 FROM tenant_demo.orders);
