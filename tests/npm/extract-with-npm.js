// Extracts tarballs as `npm install` does, with a real npm's own pacote (node-tar with strip 1,
// npm's entry filter and file modes), for the differential test in tests/tar_differential.rs.
//
// usage: node extract-with-npm.js NPM_PACKAGE_DIR CACHE_DIR OUT_DIR TGZ...
// Writes OUT_DIR/<tarball name>.json: {"files": {PATH: {"mode": MODE, "hex": CONTENT}}} with
// every regular file and symbolic link npm left in the package directory, or {"error": MESSAGE}.
'use strict'
const fs = require('fs')
const path = require('path')

const [npmDir, cacheDir, outDir, ...tarballs] = process.argv.slice(2)
const pacote = require(path.join(npmDir, 'node_modules', 'pacote'))

// npm's own default, so that the modes are what an install writes.
process.umask(0o022)

function walk (dir, rel, files) {
  for (const name of fs.readdirSync(dir).sort()) {
    const full = path.join(dir, name)
    const relative = rel ? `${rel}/${name}` : name
    const stat = fs.lstatSync(full)
    if (stat.isDirectory()) {
      walk(full, relative, files)
    } else if (stat.isSymbolicLink()) {
      files[relative] = { mode: -1, hex: Buffer.from(fs.readlinkSync(full)).toString('hex') }
    } else {
      files[relative] = { mode: stat.mode & 0o7777, hex: fs.readFileSync(full).toString('hex') }
    }
  }
}

async function main () {
  for (const tarball of tarballs) {
    const name = path.basename(tarball, '.tgz')
    const dest = path.join(outDir, name)
    let result
    try {
      await pacote.extract(`file:${path.resolve(tarball)}`, dest, { cache: cacheDir, umask: 0o022 })
      const files = {}
      walk(dest, '', files)
      result = { files }
    } catch (error) {
      result = { error: String((error && error.message) || error) }
    }
    fs.writeFileSync(path.join(outDir, `${name}.json`), JSON.stringify(result))
  }
}

main().catch((error) => {
  process.stderr.write(`${(error && error.stack) || error}\n`)
  process.exit(1)
})
