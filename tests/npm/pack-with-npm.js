// Packs source trees with a real npm's own packing code (libnpmpack: what `npm pack` and
// `npm publish` call), for the differential tests in tests/npm_differential.rs.
//
// usage: node pack-with-npm.js NPM_PACKAGE_DIR CACHE_DIR OUT_DIR TREE_DIR...
// A tree may hold a file `.provdiff-pack-target` naming the workspace to pack (relative path);
// npm then packs it as `npm pack` run inside that workspace does (prefix = the tree's root).
// Writes OUT_DIR/<tree name>.tgz, or OUT_DIR/<tree name>.error with the message.
'use strict'
const fs = require('fs')
const path = require('path')

const [npmDir, cacheDir, outDir, ...trees] = process.argv.slice(2)
const libpack = require(path.join(npmDir, 'node_modules', 'libnpmpack'))

async function main () {
  for (const tree of trees) {
    const name = path.basename(tree)
    const targetFile = path.join(tree, '.provdiff-pack-target')
    let dir = tree
    const opts = { ignoreScripts: true, cache: cacheDir, silent: true, audit: false, fund: false }
    if (fs.existsSync(targetFile)) {
      dir = path.join(tree, fs.readFileSync(targetFile, 'utf8').trim())
      Object.assign(opts, { prefix: tree, workspaces: [dir] })
    }
    try {
      process.chdir(dir)
      const tarball = await libpack('file:.', { ...opts, where: dir, path: dir })
      fs.writeFileSync(path.join(outDir, `${name}.tgz`), tarball)
    } catch (error) {
      fs.writeFileSync(path.join(outDir, `${name}.error`), String(error && error.message || error))
    }
  }
}

main().catch((error) => {
  process.stderr.write(`${error && error.stack || error}\n`)
  process.exit(1)
})
