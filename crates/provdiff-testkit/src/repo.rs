//! Git repositories for tests, built with libgit2 straight into the object database, with fixed
//! author and committer times so commit ids are the same on every run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A file to commit.
#[derive(Debug, Clone)]
pub struct RepoFile {
    pub path: String,
    pub content: Vec<u8>,
    pub executable: bool,
    /// Commit `content` as a symlink target instead of a file.
    pub symlink: bool,
    /// Commit a submodule (gitlink) whose commit id is `content`, in hex.
    pub submodule: bool,
}

impl RepoFile {
    pub fn new(path: &str, content: impl AsRef<[u8]>) -> Self {
        Self {
            path: path.to_string(),
            content: content.as_ref().to_vec(),
            executable: false,
            symlink: false,
            submodule: false,
        }
    }

    pub fn executable(mut self) -> Self {
        self.executable = true;
        self
    }

    pub fn symlink(path: &str, target: &str) -> Self {
        Self { symlink: true, ..Self::new(path, target) }
    }

    /// A submodule at `path` pinned to `commit` (40 hex digits) of another repository.
    pub fn submodule(path: &str, commit: &str) -> Self {
        Self { submodule: true, ..Self::new(path, commit) }
    }
}

/// A repository under construction.
pub struct TestRepo {
    pub path: PathBuf,
    repo: git2::Repository,
}

impl std::fmt::Debug for TestRepo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestRepo").field("path", &self.path).finish()
    }
}

enum Node {
    Blob(git2::Oid, i32),
    Dir(BTreeMap<String, Node>),
}

impl TestRepo {
    /// A new bare repository at `path`.
    pub fn init_bare(path: &Path) -> Self {
        let repo = git2::Repository::init_bare(path).expect("init a bare repository");
        Self { path: path.to_path_buf(), repo }
    }

    /// An existing repository at `path`.
    pub fn open(path: &Path) -> Self {
        let repo = git2::Repository::open(path).expect("open the repository");
        Self { path: path.to_path_buf(), repo }
    }

    /// Commits exactly `files` (the tree holds nothing else) on `refs/heads/main`, returning the
    /// commit id.
    pub fn commit(&self, files: &[RepoFile], message: &str) -> String {
        let mut root = BTreeMap::new();
        for file in files {
            let oid = if file.submodule {
                git2::Oid::from_str(std::str::from_utf8(&file.content).expect("a hex commit id")).expect("a commit id")
            } else {
                self.repo.blob(&file.content).expect("write a blob")
            };
            let mode = if file.submodule {
                0o160000
            } else if file.symlink {
                0o120000
            } else if file.executable {
                0o100755
            } else {
                0o100644
            };
            let mut components: Vec<&str> = file.path.split('/').collect();
            let name = components.pop().expect("a path has a name");
            let mut dir = &mut root;
            for component in components {
                let node = dir.entry(component.to_string()).or_insert_with(|| Node::Dir(BTreeMap::new()));
                dir = match node {
                    Node::Dir(children) => children,
                    Node::Blob(..) => panic!("{} is both a file and a directory", file.path),
                };
            }
            dir.insert(name.to_string(), Node::Blob(oid, mode));
        }
        let tree = self.repo.find_tree(self.write_tree(&root)).expect("find the tree");
        let time = git2::Time::new(1_704_067_200 + self.depth() * 60, 0);
        let signature =
            git2::Signature::new("provdiff testkit", "testkit@provdiff.invalid", &time).expect("a signature");
        let parent = self.repo.find_reference("refs/heads/main").ok().and_then(|r| r.peel_to_commit().ok());
        let parents: Vec<&git2::Commit<'_>> = parent.iter().collect();
        let oid = self
            .repo
            .commit(Some("refs/heads/main"), &signature, &signature, message, &tree, &parents)
            .expect("commit");
        self.repo.set_head("refs/heads/main").expect("point HEAD at main");
        oid.to_string()
    }

    fn depth(&self) -> i64 {
        let Ok(mut walk) = self.repo.revwalk() else { return 0 };
        if walk.push_ref("refs/heads/main").is_err() {
            return 0;
        }
        walk.count() as i64
    }

    fn write_tree(&self, dir: &BTreeMap<String, Node>) -> git2::Oid {
        let mut builder = self.repo.treebuilder(None).expect("a tree builder");
        for (name, node) in dir {
            match node {
                Node::Blob(oid, mode) => builder.insert(name, *oid, *mode).expect("insert a blob"),
                Node::Dir(children) => {
                    builder.insert(name, self.write_tree(children), 0o040000).expect("insert a tree")
                }
            };
        }
        builder.write().expect("write the tree")
    }

    pub fn repository(&self) -> &git2::Repository {
        &self.repo
    }
}

/// Writes every commit reachable from `refs/heads/main` of `repo` as a v2 git bundle at `out`.
pub fn write_bundle(repo: &git2::Repository, out: &Path) {
    let head = repo.refname_to_id("refs/heads/main").expect("main exists");
    let mut walk = repo.revwalk().expect("a revwalk");
    walk.push(head).expect("push main");
    let mut builder = repo.packbuilder().expect("a pack builder");
    builder.insert_walk(&mut walk).expect("insert the history");
    let mut pack = git2::Buf::new();
    builder.write_buf(&mut pack).expect("write the pack");
    let mut bundle = format!("# v2 git bundle\n{head} refs/heads/main\n\n").into_bytes();
    bundle.extend_from_slice(&pack);
    fs_err::write(out, bundle).expect("write the bundle");
}
