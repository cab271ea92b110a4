// [webrtc] singleport: 20 peers in 4 rooms over one UDP socket (ICE-lite server in its own namespace).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { directLink, startServerIn, type ServerProcess, type ServerSide } from '../helpers/netns.ts';
import { waitFor } from '../helpers/waitFor.ts';
import { WrtcPeer, wsUrlOf } from '../helpers/wrtcPeer.ts';

const PORT = 42000;
const ROOMS = 4;
const PER_ROOM = 5;
const PUBLISHERS_PER_ROOM = 2;

void describe('[webrtc] singleport', { timeout: 240_000 }, () => {
  let side: ServerSide | undefined;
  let server: ServerProcess | undefined;
  const rooms: WrtcPeer[][] = [];

  before(async () => {
    side = directLink();
    server = await startServerIn(
      side,
      `[webrtc]\nsingleport = ${PORT}\n[webrtc.candidates]\nicelite = true\n`,
    );
    const url = wsUrlOf(server.url);
    for (let r = 0; r < ROOMS; r++) {
      const room: WrtcPeer[] = [];
      rooms.push(room);
      for (let i = 0; i < PER_ROOM; i++) {
        const p = await WrtcPeer.connect(url, `r${r}p${i}`);
        room.push(p);
        await p.join(`room${r}`, `r${r}p${i}`);
      }
      for (const p of room.slice(0, PUBLISHERS_PER_ROOM)) {
        await p.publish();
      }
    }
  });

  after(async () => {
    await Promise.all(rooms.flat().map((p) => p.close()));
    await server?.stop();
    side?.close();
  });

  void it("every peer decodes video of each of its room's publishers, and nothing of other rooms", async () => {
    for (const room of rooms) {
      const streams = room.slice(0, PUBLISHERS_PER_ROOM).map((p) => p.publishedStreamId!);
      for (const p of room) {
        for (const s of streams.filter((id) => id !== p.publishedStreamId)) {
          await waitFor(() => p.videoFrames(s) > 10, {
            what: `${p.label} to decode 10 frames of ${s}`,
            timeout: 45_000,
          });
        }
        for (const id of p.remoteStreamIds()) {
          assert.ok(streams.includes(id), `${p.label} receives ${id} from another room`);
        }
      }
    }
  });

  void it('the server process has exactly one UDP socket, on the single port', () => {
    assert.deepEqual(server!.udpPorts(), [PORT]);
  });

  void it("both PCs of every peer selected a pair on the server's single port", async () => {
    for (const p of rooms.flat()) {
      for (const target of [0, 1] as const) {
        const pair = await p.selectedPair(target);
        assert.equal(pair?.remote.port, PORT, `${p.label} target ${target}: ${JSON.stringify(pair)}`);
      }
    }
  });
});
