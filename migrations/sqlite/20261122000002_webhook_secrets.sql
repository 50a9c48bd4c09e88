-- Standard Webhooks signing secrets per tenant. The previous secret keeps signing for a grace
-- period after a rotation, so receivers can switch over without losing a delivery.
ALTER TABLE tenants ADD COLUMN webhook_secret TEXT;
ALTER TABLE tenants ADD COLUMN previous_webhook_secret TEXT;
ALTER TABLE tenants ADD COLUMN webhook_secret_rotated_at INTEGER;
