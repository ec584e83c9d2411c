"""``frailwatch demo``: the platform on one machine (services, stations, gateway), summary and charts."""
