// The demo page's tile layout (web/layout.ts): every tile fits the area, at desktop and phone sizes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gridRects, speakerRects, type Rect } from '../../../web/layout.ts';

function assertInside(rects: Rect[], width: number, height: number): void {
  for (const r of rects) {
    assert.ok(r.left >= -0.5 && r.top >= -0.5, `${JSON.stringify(r)} starts inside`);
    assert.ok(r.left + r.width <= width + 0.5, `${JSON.stringify(r)} ends inside ${width} px`);
    assert.ok(r.top + r.height <= height + 0.5, `${JSON.stringify(r)} ends inside ${height} px`);
    assert.ok(r.width > 0 && r.height > 0);
  }
}

function assertNoOverlap(rects: Rect[]): void {
  rects.forEach((a, i) =>
    rects.slice(i + 1).forEach((b) => {
      const apart =
        a.left + a.width <= b.left + 0.5 ||
        b.left + b.width <= a.left + 0.5 ||
        a.top + a.height <= b.top + 0.5 ||
        b.top + b.height <= a.top + 0.5;
      assert.ok(apart, `${JSON.stringify(a)} and ${JSON.stringify(b)} overlap`);
    }),
  );
}

void describe('tile layout', () => {
  for (const [w, h] of [
    [1240, 560],
    [370, 600],
    [800, 300],
  ] as const) {
    for (let n = 1; n <= 9; n++) {
      void it(`${n} tiles fit ${w}x${h} without overlapping, in grid and speaker view`, () => {
        for (const rects of [gridRects(n, w, h, 12), speakerRects(n, w, h, 12)]) {
          assert.equal(rects.length, n);
          assertInside(rects, w, h);
          assertNoOverlap(rects);
        }
      });
    }
  }

  void it('the largest tiles win: three on a wide, low area in one row, on a phone in one column', () => {
    assert.equal(new Set(gridRects(3, 1240, 300, 12).map((r) => r.top)).size, 1);
    // 1240x560: two rows (2 + 1) give larger tiles than one row of three.
    assert.equal(new Set(gridRects(3, 1240, 560, 12).map((r) => r.top)).size, 2);
    assert.equal(new Set(gridRects(3, 370, 600, 12).map((r) => r.left)).size, 1);
  });

  void it('speaker view: the first tile is larger than the strip tiles', () => {
    const [main, ...strip] = speakerRects(4, 1240, 560, 12);
    assert.ok(strip.every((r) => r.width * 2 < main!.width));
  });
});
