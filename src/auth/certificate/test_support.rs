//! Fixtures shared by the unit tests: one development CA per test run, because RSA key
//! generation is slow in debug builds.

use std::path::Path;
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use super::devca::{CodePlace, DevCa, IssueOptions, Issued, KeyKind};
use super::extract::DEFAULT_USCC_SOURCES;

pub(super) const USCC: &str = "91310000MA1FL8XQ37";
pub(super) const NAME: &str = "上海测试物业管理有限公司";

struct Shared {
    ca: DevCa,
    _dir: tempfile::TempDir,
}

/// Returns the development CA shared by all tests. Tests that revoke use their own CA.
pub(super) fn shared_ca() -> &'static DevCa {
    static SHARED: OnceLock<Shared> = OnceLock::new();
    &SHARED
        .get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let ca = DevCa::init(dir.path()).unwrap();
            Shared { ca, _dir: dir }
        })
        .ca
}

/// Creates a development CA in `dir`.
pub(super) fn new_ca(dir: &Path) -> DevCa {
    DevCa::init(dir).unwrap()
}

pub(super) fn options(key: KeyKind) -> IssueOptions {
    IssueOptions {
        key,
        ..IssueOptions::new(USCC, NAME)
    }
}

pub(super) fn issue(key: KeyKind) -> Issued {
    shared_ca().issue(&options(key)).unwrap()
}

pub(super) fn issue_with(key: KeyKind, place: CodePlace, code: &str) -> Issued {
    let options = IssueOptions {
        place,
        uscc: code.to_owned(),
        ..options(key)
    };
    shared_ca().issue(&options).unwrap()
}

pub(super) fn default_sources() -> Vec<String> {
    DEFAULT_USCC_SOURCES
        .iter()
        .map(|s| (*s).to_owned())
        .collect()
}

pub(super) fn ca_pems(ca: &DevCa) -> Vec<String> {
    ca.ca_pem_paths()
        .iter()
        .map(|path| std::fs::read_to_string(path).unwrap())
        .collect()
}

pub(super) fn unix_now() -> i64 {
    let elapsed = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    i64::try_from(elapsed.as_secs()).unwrap()
}

/// A deterministic xorshift generator, so fuzz-style tests repeat exactly.
pub(super) struct XorShift(pub u64);

impl XorShift {
    pub(super) fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub(super) fn below(&mut self, bound: usize) -> usize {
        usize::try_from(self.next_u64() % u64::try_from(bound.max(1)).unwrap()).unwrap()
    }
}
