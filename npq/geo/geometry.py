"""Distances and the conversion from British National Grid to WGS84 latitude/longitude."""

from __future__ import annotations

import math

EARTH_RADIUS_MILES = 3958.8

# Airy 1830 ellipsoid and the National Grid's transverse Mercator projection (OS, "A guide to
# coordinate systems in Great Britain", annexes B and C).
AIRY_A = 6377563.396
AIRY_B = 6356256.909
GRID_SCALE = 0.9996012717
GRID_LAT0 = math.radians(49.0)
GRID_LON0 = math.radians(-2.0)
GRID_E0 = 400000.0
GRID_N0 = -100000.0

WGS84_A = 6378137.0
WGS84_B = 6356752.3141

# Seven-parameter Helmert transformation OSGB36 -> WGS84: the OS's published WGS84 -> OSGB36
# parameters (tx -446.448 m ... rz -0.8421") with their signs reversed. It is good to about 5 m
# over most of Great Britain and within 10 m everywhere (checked against OSTN15 to under 5 m),
# far inside the 200 m this module needs; OSTN15 itself would need a 15 MB grid.
HELMERT_T = (446.448, -125.157, 542.060)  # metres
HELMERT_S = -20.4894e-6  # scale, dimensionless
HELMERT_R = tuple(math.radians(s / 3600.0) for s in (0.1502, 0.2470, 0.8421))


def distance_miles(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine) distance in miles between two WGS84 points."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlmb = math.radians(lon2 - lon1)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_MILES * math.asin(min(1.0, math.sqrt(h)))


def grid_to_wgs84(easting: float, northing: float) -> tuple[float, float]:
    """OSGB36 National Grid easting/northing (metres) -> WGS84 (latitude, longitude) in degrees."""
    lat, lon = _inverse_transverse_mercator(easting, northing)
    x, y, z = _geodetic_to_cartesian(lat, lon, AIRY_A, AIRY_B)
    x, y, z = _helmert(x, y, z)
    lat, lon = _cartesian_to_geodetic(x, y, z, WGS84_A, WGS84_B)
    return math.degrees(lat), math.degrees(lon)


def _meridional_arc(lat: float) -> float:
    n = (AIRY_A - AIRY_B) / (AIRY_A + AIRY_B)
    n2, n3 = n * n, n * n * n
    dl, sl = lat - GRID_LAT0, lat + GRID_LAT0
    return (
        AIRY_B
        * GRID_SCALE
        * (
            (1 + n + 1.25 * n2 + 1.25 * n3) * dl
            - (3 * n + 3 * n2 + 2.625 * n3) * math.sin(dl) * math.cos(sl)
            + (1.875 * n2 + 1.875 * n3) * math.sin(2 * dl) * math.cos(2 * sl)
            - (35 / 24) * n3 * math.sin(3 * dl) * math.cos(3 * sl)
        )
    )


def _inverse_transverse_mercator(easting: float, northing: float) -> tuple[float, float]:
    """Airy 1830 latitude/longitude in radians (OS guide, annex C, equations C6-C8)."""
    a_f0, e2 = AIRY_A * GRID_SCALE, 1 - (AIRY_B / AIRY_A) ** 2
    lat = GRID_LAT0 + (northing - GRID_N0) / a_f0
    while True:
        m = _meridional_arc(lat)
        if abs(northing - GRID_N0 - m) < 1e-5:
            break
        lat += (northing - GRID_N0 - m) / a_f0
    s, c, t = math.sin(lat), math.cos(lat), math.tan(lat)
    nu = a_f0 / math.sqrt(1 - e2 * s * s)
    rho = a_f0 * (1 - e2) / (1 - e2 * s * s) ** 1.5
    eta2 = nu / rho - 1
    t2, t4 = t * t, t**4
    vii = t / (2 * rho * nu)
    viii = t / (24 * rho * nu**3) * (5 + 3 * t2 + eta2 - 9 * t2 * eta2)
    ix = t / (720 * rho * nu**5) * (61 + 90 * t2 + 45 * t4)
    x = 1 / (c * nu)
    xi = 1 / (c * 6 * nu**3) * (nu / rho + 2 * t2)
    xii = 1 / (c * 120 * nu**5) * (5 + 28 * t2 + 24 * t4)
    xiia = 1 / (c * 5040 * nu**7) * (61 + 662 * t2 + 1320 * t4 + 720 * t**6)
    de = easting - GRID_E0
    lat_out = lat - vii * de**2 + viii * de**4 - ix * de**6
    lon_out = GRID_LON0 + x * de - xi * de**3 + xii * de**5 - xiia * de**7
    return lat_out, lon_out


def _geodetic_to_cartesian(lat: float, lon: float, a: float, b: float) -> tuple[float, ...]:
    e2 = 1 - (b / a) ** 2
    nu = a / math.sqrt(1 - e2 * math.sin(lat) ** 2)
    return (
        nu * math.cos(lat) * math.cos(lon),
        nu * math.cos(lat) * math.sin(lon),
        (1 - e2) * nu * math.sin(lat),
    )


def _helmert(x: float, y: float, z: float) -> tuple[float, float, float]:
    (tx, ty, tz), (rx, ry, rz), s = HELMERT_T, HELMERT_R, HELMERT_S
    return (
        tx + (1 + s) * x - rz * y + ry * z,
        ty + rz * x + (1 + s) * y - rx * z,
        tz - ry * x + rx * y + (1 + s) * z,
    )


def _cartesian_to_geodetic(x: float, y: float, z: float, a: float, b: float) -> tuple[float, float]:
    e2 = 1 - (b / a) ** 2
    p = math.hypot(x, y)
    lat = math.atan2(z, p * (1 - e2))
    for _ in range(10):
        nu = a / math.sqrt(1 - e2 * math.sin(lat) ** 2)
        new_lat = math.atan2(z + e2 * nu * math.sin(lat), p)
        if abs(new_lat - lat) < 1e-12:
            break
        lat = new_lat
    return lat, math.atan2(y, x)
