"""The MQTT 5 client the long-running roles (edge uplink, gateway) start from: paho with the
callback API v2, credentials when a user is set, and TLS (client certificate optional) when a CA
bundle is set. Each role adds its own callbacks, limits and session properties."""

from __future__ import annotations

import ssl
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from pydantic import SecretStr


def mqtt5_client(
    client_id: str,
    username: str | None = None,
    password: SecretStr | None = None,
    ca_file: Path | None = None,
    cert_file: Path | None = None,
    key_file: Path | None = None,
) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    if username:
        client.username_pw_set(username, password.get_secret_value() if password else None)
    if ca_file is not None:
        client.tls_set(
            ca_certs=str(ca_file),
            certfile=str(cert_file) if cert_file else None,
            keyfile=str(key_file) if key_file else None,
            tls_version=ssl.PROTOCOL_TLS_CLIENT,
        )
    return client
