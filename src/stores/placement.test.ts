import assert from 'node:assert/strict'
import { test } from 'node:test'
import { type Backend, choosePlacement, type PlacementQuestion } from './placement.ts'

// Every combination the rules can meet. `keyringWorks: false` happens only at login, after a keyring call failed.
const cases: Array<{ name: string; input: PlacementQuestion; want: Backend }> = [
  {
    name: 'login, keyring works, tokens fit → keyring',
    input: { remembered: undefined, keyringWorks: true, fitsKeyring: true },
    want: 'keyring',
  },
  {
    name: 'login, keyring works, 6 KB token → encrypted file',
    input: { remembered: undefined, keyringWorks: true, fitsKeyring: false },
    want: 'encrypted',
  },
  {
    name: 'login, keyring fails, tokens fit → file',
    input: { remembered: undefined, keyringWorks: false, fitsKeyring: true },
    want: 'file',
  },
  {
    name: 'login, keyring fails, 6 KB token → file (the encrypted file needs the keyring for its key)',
    input: { remembered: undefined, keyringWorks: false, fitsKeyring: false },
    want: 'file',
  },
  {
    name: 'refresh of a file session, keyring works now → stays in the file',
    input: { remembered: 'file', keyringWorks: true, fitsKeyring: true },
    want: 'file',
  },
  {
    name: 'refresh of a keyring session, keyring unreachable → keyring (the call fails; never a second copy)',
    input: { remembered: 'keyring', keyringWorks: false, fitsKeyring: true },
    want: 'keyring',
  },
  {
    name: 'refresh of a keyring session → keyring',
    input: { remembered: 'keyring', keyringWorks: true, fitsKeyring: true },
    want: 'keyring',
  },
  {
    name: 'refresh of a keyring session that outgrew its item → encrypted file',
    input: { remembered: 'keyring', keyringWorks: true, fitsKeyring: false },
    want: 'encrypted',
  },
  {
    name: 'refresh of an encrypted session that fits the keyring again → stays encrypted',
    input: { remembered: 'encrypted', keyringWorks: true, fitsKeyring: true },
    want: 'encrypted',
  },
  {
    name: 'refresh of an encrypted session, keyring unreachable → encrypted (the call fails)',
    input: { remembered: 'encrypted', keyringWorks: false, fitsKeyring: false },
    want: 'encrypted',
  },
]

for (const { name, input, want } of cases) test(name, () => assert.equal(choosePlacement(input), want))
