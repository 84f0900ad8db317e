-- Keyset pages of the asset tree and of API keys (assetsConnection, apiKeysConnection): each page is an
-- index step from the previous page's last row, however deep it lies.
CREATE INDEX assets_tree_order ON tenancy.assets
    (tenant_id, array_position(ARRAY['site', 'area', 'line', 'machine']::text[], kind), name, id);
CREATE INDEX api_keys_oldest ON tenancy.api_keys (tenant_id, created_at, id);
