"""Typed application state shared by the handlers."""

from aiohttp import web

from kserve_server.dataplane import DataPlane
from kserve_server.rest.connection import ClientErrorLog
from kserve_server.rest.drain import Drain

DATAPLANE = web.AppKey("dataplane", DataPlane)
CLIENT_ERRORS = web.AppKey("client_errors", ClientErrorLog)
DRAIN = web.AppKey("drain", Drain)
