"""A one-line bundle's source map and a stack thrown in it: what the source-map tests resolve."""

from __future__ import annotations

import json

# A bundle of one line, ``function r(){throw new Error("x")}function o(){r()}o();``: column 14
# is ``throw`` in levelThree (src/util.js line 2), column 48 the call ``r()`` in levelTwo (line 5).
MAP = json.dumps(
    {
        "version": 3,
        "sources": ["../src/util.js"],
        "sourcesContent": [
            "function levelThree() {\n  throw new Error('x');\n}\nfunction levelTwo() {\n"
            "  levelThree();\n}\n"
        ],
        "names": ["levelThree", "levelTwo"],
        "mappings": "AAAA,SAASA,IACP,qBAEF,SAASC,IACPD",
    }
).encode()
STACK = (
    "Error: x\n"
    "    at r (https://shop.example/assets/app.js?v=9#top:1:14)\n"
    "    at o (https://shop.example/assets/app.js:1:48)\n"
    "    at https://cdn.other/lib.js:1:1"
)
