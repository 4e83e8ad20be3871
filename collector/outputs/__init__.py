"""Where changed events go: MQTT, the store, webhooks. Each output retries on its own."""
