// [webrtc.timeouts] on a fake agent, with chosen clock values (no timers, no sleeps).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IceMonitor, type MonitoredAgent } from '../../../src/media/transport/IceMonitor.ts';

function agent(): MonitoredAgent & { log: string[]; isConnected: boolean; done: boolean } {
  const log: string[] = [];
  return {
    log,
    isConnected: true,
    done: false,
    connected() {
      return this.isConnected;
    },
    finished() {
      return this.done;
    },
    setDisconnected: () => log.push('disconnected'),
    setReconnected: () => log.push('reconnected'),
    fail: () => log.push('failed'),
    sendKeepalive: () => log.push('keepalive'),
  };
}

await test('silence → disconnected, traffic → reconnected, long silence → failed (once)', () => {
  const m = new IceMonitor({ disconnectedMs: 5000, failedMs: 25000, keepaliveMs: 100_000 });
  const a = agent();
  const { activity, stop } = m.watch(a);
  const t0 = activity.lastReceived;
  m.sweep(t0 + 4000);
  assert.deepEqual(a.log, []);
  m.sweep(t0 + 5000);
  assert.deepEqual(a.log, ['disconnected']);
  activity.lastReceived = t0 + 6000;
  m.sweep(t0 + 6500);
  assert.deepEqual(a.log, ['disconnected', 'reconnected']);
  m.sweep(t0 + 6000 + 10_000);
  m.sweep(t0 + 6000 + 30_000);
  m.sweep(t0 + 6000 + 40_000);
  assert.deepEqual(a.log, ['disconnected', 'reconnected', 'disconnected', 'failed']);
  assert.equal(m.size, 0);
  stop();
});

await test('an agent that never connects fails after disconnected + failed, without a disconnected state', () => {
  const m = new IceMonitor({ disconnectedMs: 1000, failedMs: 1000, keepaliveMs: 500 });
  const a = agent();
  a.isConnected = false;
  const { activity } = m.watch(a);
  m.sweep(activity.lastReceived + 1500);
  m.sweep(activity.lastReceived + 2000);
  assert.deepEqual(a.log, ['failed']);
  m.close();
});

await test('a keepalive goes out when nothing was sent for keepalive ms, only while connected', () => {
  const m = new IceMonitor({ disconnectedMs: 60_000, failedMs: 60_000, keepaliveMs: 2000 });
  const a = agent();
  const { activity, stop } = m.watch(a);
  const t0 = activity.lastSent;
  activity.lastReceived = t0 + 10_000;
  m.sweep(t0 + 1999);
  m.sweep(t0 + 2000);
  m.sweep(t0 + 3000);
  m.sweep(t0 + 4000);
  assert.deepEqual(a.log, ['keepalive', 'keepalive']);
  a.done = true;
  m.sweep(t0 + 9000);
  assert.equal(m.size, 0);
  stop();
});
