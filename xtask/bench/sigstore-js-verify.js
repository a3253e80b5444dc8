// Verifies npm attestation bundles with sigstore-js (@sigstore/verify), as npm's own
// `npm audit signatures` does, for `cargo xtask bench verify`.
// usage: node sigstore-js-verify.js TRUSTED_ROOT NPM_KEYS ITERATIONS ATTESTATIONS_FILE...
'use strict'
const fs = require('fs')
const crypto = require('crypto')
const { Verifier, toSignedEntity, toTrustMaterial } = require('@sigstore/verify')
const { bundleFromJSON } = require('@sigstore/bundle')
const { TrustedRoot } = require('@sigstore/protobuf-specs')

const [rootPath, keysPath, iterations, ...files] = process.argv.slice(2)
const trustedRoot = TrustedRoot.fromJSON(JSON.parse(fs.readFileSync(rootPath, 'utf8')))
const keys = JSON.parse(fs.readFileSync(keysPath, 'utf8')).keys.filter((k) => k.keyUsage === 'npm:attestations')
const keyFinder = (hint) => {
  const key = keys.find((k) => k.keyId === hint)
  if (!key) throw new Error(`no key ${hint}`)
  const publicKey = crypto.createPublicKey({ key: Buffer.from(key.publicKey.rawBytes, 'base64'), format: 'der', type: 'spki' })
  const start = new Date(key.publicKey.validFor.start)
  const end = key.publicKey.validFor.end ? new Date(key.publicKey.validFor.end) : null
  return { publicKey, validFor: (date) => date >= start && (end === null || date <= end) }
}
const verifier = new Verifier(toTrustMaterial(trustedRoot, keyFinder))

const bundles = files.flatMap((file) => {
  const json = JSON.parse(fs.readFileSync(file, 'utf8'))
  return (json.attestations ? json.attestations.map((a) => a.bundle) : [json]).map((b) => JSON.stringify(b))
})
const results = bundles.map((text) => {
  try {
    verifier.verify(toSignedEntity(bundleFromJSON(JSON.parse(text))))
    return 'ok'
  } catch (e) {
    return `${e.code || e.name}: ${e.message}`
  }
})
const times = []
for (let i = 0; i < Number(iterations); i++) {
  const start = process.hrtime.bigint()
  for (const text of bundles) {
    try { verifier.verify(toSignedEntity(bundleFromJSON(JSON.parse(text)))) } catch (e) {}
  }
  times.push(Number(process.hrtime.bigint() - start) / bundles.length)
}
times.sort((a, b) => a - b)
process.stdout.write(JSON.stringify({ bundles: bundles.length, results, median_ns_per_bundle: times.length ? times[Math.floor(times.length / 2)] : null }) + '\n')
