"""Live values of one series as they are stored, with the `gql` client over graphql-transport-ws.

pip install "gql[websockets]"
SF_API_KEY=sfk_... SF_SERIES_ID=... python docs/examples/subscribe.py --count 5
"""

import argparse
import asyncio
import os

from gql import Client, gql
from gql.transport.websockets import WebsocketsTransport

LIVE = gql("subscription Live($ids: [ID!]!) { liveValues(seriesIds: $ids) { seriesId timestamp value } }")


async def main(count: int) -> None:
    url = os.environ.get("SF_URL", "http://localhost:8000").replace("http", "ws", 1) + "/graphql"
    transport = WebsocketsTransport(
        url=url,
        headers={"Authorization": f"Bearer {os.environ['SF_API_KEY']}"},
        subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],  # graphql-transport-ws
    )
    async with Client(transport=transport) as session:
        seen = 0
        async for result in session.subscribe(LIVE, variable_values={"ids": [os.environ["SF_SERIES_ID"]]}):
            value = result["liveValues"]
            print(value["timestamp"], value["value"], flush=True)
            seen += 1
            if seen == count:
                return


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10, help="stop after this many values")
    asyncio.run(main(parser.parse_args().count))
