//! Property tests: certificate parsing, USCC extraction, chain verification and challenge
//! checks return errors, never panic, on arbitrary and on mutated input. The case counts keep
//! the run to a few seconds.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::OnceLock;

use proptest::prelude::*;
use unilogin::auth::certificate::devca::{DevCa, IssueOptions, KeyKind};
use unilogin::auth::certificate::{
    ChallengeAlgorithm, DEFAULT_USCC_SOURCES, TrustStore, read_identity, verify_challenge,
};
use unilogin::domain::uscc;

struct Fixture {
    _dir: tempfile::TempDir,
    store: TrustStore,
    certificates: Vec<Vec<u8>>,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let ca = DevCa::init(dir.path()).unwrap();
        let certificates = [KeyKind::Rsa, KeyKind::P256, KeyKind::Sm2]
            .into_iter()
            .map(|key| {
                let mut options = IssueOptions::new("91310000MA1FL8XQ11", "上海甲物业有限公司");
                options.key = key;
                ca.issue(&options).unwrap().cert_der
            })
            .collect();
        let store = TrustStore::load(&ca.ca_pem_paths(), &ca.crl_paths()).unwrap();
        Fixture {
            _dir: dir,
            store,
            certificates,
        }
    })
}

fn sources() -> Vec<String> {
    DEFAULT_USCC_SOURCES
        .iter()
        .map(|s| (*s).to_owned())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = read_identity(&bytes, &sources());
        let _ = fixture().store.verify(&bytes, &[], 1_800_000_000);
        let _ = verify_challenge(&bytes, ChallengeAlgorithm::Sm3WithSm2, b"nonce", &bytes);
    }

    #[test]
    fn mutated_certificates_never_panic(
        which in 0usize..3,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut der = fixture().certificates[which].clone();
        for (index, byte) in edits {
            let position = index.index(der.len());
            der[position] = byte;
        }
        let keep = cut.index(der.len() + 1);
        let truncated = &der[..keep.max(1)];
        let _ = read_identity(&der, &sources());
        let _ = read_identity(truncated, &sources());
        let _ = fixture().store.verify(&der, &[], 1_800_000_000);
        let _ = fixture().store.verify(truncated, &[der.clone()], 1_800_000_000);
        for algorithm in [ChallengeAlgorithm::Sm3WithSm2, ChallengeAlgorithm::RsaPkcs1Sha256, ChallengeAlgorithm::EcdsaP256Sha256] {
            let _ = verify_challenge(&der, algorithm, b"nonce", truncated);
        }
    }

    #[test]
    fn uscc_classify_never_panics(text in "\\PC{0,40}") {
        let _ = uscc::classify(&text);
        let _ = uscc::normalize(&text);
    }

    #[test]
    fn valid_uscc_always_classified(body in "[0-9A-HJ-NPQRTUWXY]{17}") {
        let check = uscc::uscc_check_char(&body).unwrap();
        let full = format!("{body}{check}");
        let code = uscc::classify(&full).unwrap();
        prop_assert!(code.check_digit_ok());
        prop_assert_eq!(code.uscc(), Some(full.as_str()));
    }
}
