// Room names are one namespace per service: a join by name reaches the REST room of that name (its
// rules apply), a second room of one name is refused (409), calls by name reach it, and a name two
// rooms share (written before names were unique) is an explicit error rather than a guess.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { apiCall, type ApiAnswer, type CallOptions } from '../helpers/nuve.ts';
import { startSwitchboard, type RunningSwitchboard } from '../helpers/server.ts';
import { RpcError, WrtcPeer, wsUrlOf } from '../helpers/wrtcPeer.ts';
import { getRoom, listRooms, putRoom } from '../../src/protocol/records.ts';

const SUPER = { service: 'superservice-names', key: 'superservice-key-for-name-tests' };

void describe('room names', { timeout: 120_000 }, () => {
  let sb: RunningSwitchboard | undefined;
  const peers: WrtcPeer[] = [];

  const call = (method: string, path: string, o: CallOptions = {}): Promise<ApiAnswer> =>
    apiCall(sb!.url, method, path, { creds: SUPER, ...o });

  async function peer(label: string): Promise<WrtcPeer> {
    const p = await WrtcPeer.connect(wsUrlOf(sb!.url), label);
    peers.push(p);
    return p;
  }

  before(async () => {
    // Anonymous joins, as the demo page makes them.
    sb = await startSwitchboard((c) => {
      c.auth.anonymous = true;
      c.api.superserviceid = SUPER.service;
      c.api.superservicekey = SUPER.key;
    });
  });

  after(async () => {
    for (const p of peers) {
      await p.close();
    }
    await sb?.close();
  });

  void it('a join by name reaches the REST room of that name: max peers 1 refuses the second', async () => {
    const created = await call('POST', '/rooms', { body: { name: 'solo', options: { maxPeers: 1 } } });
    assert.equal(created.status, 200, created.text);
    const id = created.json._id as string;
    assert.notEqual(id, 'solo');

    const first = await peer('first');
    await first.join('solo', 'first');
    const users = await call('GET', `/rooms/${id}/users`);
    assert.deepEqual(
      (users.json as { id: string }[]).map((u) => u.id),
      ['first'],
    );
    const second = await peer('second');
    await assert.rejects(second.join('solo', 'second', undefined, 10_000), (err: RpcError) => {
      assert.match(err.message, /room is full/);
      return true;
    });
    // No ad-hoc room called "solo" appeared beside it.
    const solos = (await listRooms(sb!.store, sb!.config.global.dc)).filter((r) => r.name === 'solo');
    assert.deepEqual(
      solos.map((r) => r.id),
      [id],
    );
  });

  void it('a second room of one name is refused with 409; delete by name then works', async () => {
    const a = await call('POST', '/rooms', { body: { name: 'standup' } });
    assert.equal(a.status, 200, a.text);
    const b = await call('POST', '/rooms', { body: { name: 'standup' } });
    assert.equal(b.status, 409, b.text);
    assert.match(b.json.message as string, /already exists/);
    // getOrCreate answers the one room.
    const again = await call('POST', '/rooms', { body: { name: 'standup', options: { getOrCreate: true } } });
    assert.equal(again.json._id, a.json._id);

    const del = await call('DELETE', '/rooms/standup');
    assert.equal(del.status, 200, del.text);
    assert.equal(del.text, 'Room deleted');
    assert.equal(await getRoom(sb!.store, sb!.config.global.dc, a.json._id as string), undefined);
    // The name is free again.
    const c = await call('POST', '/rooms', { body: { name: 'standup' } });
    assert.equal(c.status, 200, c.text);
    assert.notEqual(c.json._id, a.json._id);
  });

  void it('a rename to a taken name is refused; a rename frees the old name', async () => {
    const x = (await call('POST', '/rooms', { body: { name: 'alpha' } })).json._id as string;
    await call('POST', '/rooms', { body: { name: 'beta' } });
    const clash = await call('PATCH', `/rooms/${x}`, { body: { name: 'beta' } });
    assert.equal(clash.status, 409, clash.text);
    assert.equal((await call('PUT', `/rooms/${x}`, { body: { name: 'gamma' } })).status, 200);
    assert.equal((await call('GET', '/rooms/gamma')).json._id, x);
    assert.equal((await call('POST', '/rooms', { body: { name: 'alpha' } })).status, 200);
  });

  void it('a name two rooms share (from before names were unique) is an explicit error', async () => {
    const dc = sb!.config.global.dc;
    for (const id of ['legacy0000000000000000001', 'legacy0000000000000000002']) {
      await putRoom(sb!.store, dc, id, {
        name: 'legacy',
        service: SUPER.service,
        locked: false,
        maxPeers: 0,
        adhoc: false,
        createdAt: Date.now(),
      });
    }
    const p = await peer('ambiguous');
    await assert.rejects(p.join('legacy', 'someone', undefined, 10_000), (err: RpcError) => {
      assert.equal(err.code, 409);
      assert.match(err.message, /ambiguous.*legacy0000000000000000001.*legacy0000000000000000002/);
      return true;
    });
    const del = await call('DELETE', '/rooms/legacy');
    assert.equal(del.status, 409, del.text);
    assert.match(del.json.message as string, /ambiguous/);
    assert.equal((await call('POST', '/rooms', { body: { name: 'legacy' } })).status, 409);
    // By id each is still reachable.
    assert.equal((await call('DELETE', '/rooms/legacy0000000000000000001')).status, 200);
    assert.equal((await call('GET', '/rooms/legacy')).json._id, 'legacy0000000000000000002');
  });
});
