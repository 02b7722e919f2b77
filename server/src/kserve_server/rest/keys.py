"""Typed application state shared by the handlers."""

from aiohttp import web

from kserve_server.dataplane import DataPlane

DATAPLANE = web.AppKey("dataplane", DataPlane)
