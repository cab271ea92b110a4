import type { SpawnSyncReturns } from 'node:child_process';

export function ip(...args: string[]): SpawnSyncReturns<string>;
export function setUpNamespace(ns: string, pair: [[string, string], [string, string]]): string | undefined;
