use p12_keystore::{KeyStore, Pkcs12ImportPolicy};

use super::super::extract::read_identity;
use super::super::test_support::{default_sources, issue, new_ca, options, shared_ca};
use super::crl::read_crl_entries;
use super::*;

#[test]
fn init_creates_then_reuses_files() {
    let dir = tempfile::tempdir().unwrap();
    new_ca(dir.path());
    let names = ["ca.pem", "ca.key.pem", "sm2-ca.pem", "sm2-ca.key.pem"];
    let first: Vec<String> = names
        .iter()
        .map(|name| fs::read_to_string(dir.path().join(name)).unwrap())
        .collect();

    new_ca(dir.path());
    DevCa::load(dir.path()).unwrap();

    for (name, before) in names.iter().zip(&first) {
        let after = fs::read_to_string(dir.path().join(name)).unwrap();
        assert_eq!(&after, before, "{name} changed");
    }
}

#[test]
fn load_reports_missing_directory() {
    let dir = tempfile::tempdir().unwrap();

    let result = DevCa::load(&dir.path().join("absent"));

    assert!(
        matches!(result, Err(CertError::Io { .. })),
        "{:?}",
        result.err()
    );
}

#[test]
fn issue_writes_the_requested_code() {
    let issued = shared_ca()
        .issue(&IssueOptions {
            uscc: "91350100M000100Y43".to_owned(),
            place: CodePlace::Extension("1.2.156.1.8888.148".to_owned()),
            ..options(KeyKind::Sm2)
        })
        .unwrap();

    let identity = read_identity(&issued.cert_der, &default_sources()).unwrap();

    assert_eq!(identity.code.code(), "91350100M000100Y43");
    assert_eq!(identity.source, "1.2.156.1.8888.148");
    assert!(issued.cert_pem.starts_with("-----BEGIN CERTIFICATE-----"));
    assert!(issued.key_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
}

#[test]
fn issue_expired_lies_in_the_past() {
    let issued = shared_ca()
        .issue(&IssueOptions {
            expired: true,
            ..options(KeyKind::P256)
        })
        .unwrap();

    let identity = read_identity(&issued.cert_der, &default_sources()).unwrap();

    assert!(identity.not_after < unix_now() - 86_400);
}

#[test]
fn issue_rejects_invalid_extension_oid() {
    let result = shared_ca().issue(&IssueOptions {
        place: CodePlace::Extension("not.an.oid".to_owned()),
        ..options(KeyKind::P256)
    });

    assert!(matches!(result, Err(CertError::DevCa(_))), "{result:?}");
}

#[test]
fn write_issued_writes_pkcs12_for_rsa_and_p256() {
    let dir = tempfile::tempdir().unwrap();

    for key in [KeyKind::Rsa, KeyKind::P256] {
        let issued = issue(key);
        let basename = format!("{key:?}").to_lowercase();

        let written = shared_ca()
            .write_issued(&issued, dir.path(), &basename)
            .unwrap();

        assert_eq!(written.len(), 3, "{key:?}");
        let p12 = fs::read(dir.path().join(format!("{basename}.p12"))).unwrap();
        let store =
            KeyStore::from_pkcs12(&p12, PKCS12_PASSWORD, Pkcs12ImportPolicy::Strict).unwrap();
        let (_, chain) = store.private_key_chain().unwrap();
        assert_eq!(
            chain.certs()[0].as_der(),
            issued.cert_der.as_slice(),
            "{key:?}"
        );
        assert_eq!(chain.certs().len(), 2, "{key:?}");
    }
}

#[test]
fn write_issued_skips_pkcs12_for_sm2() {
    let dir = tempfile::tempdir().unwrap();
    let issued = issue(KeyKind::Sm2);

    let written = shared_ca()
        .write_issued(&issued, dir.path(), "sm2")
        .unwrap();

    assert_eq!(
        written,
        vec![dir.path().join("sm2.pem"), dir.path().join("sm2.key.pem")]
    );
    assert_eq!(fs::read_to_string(&written[1]).unwrap(), issued.key_pem);
}

#[test]
fn revoke_accumulates_serials_and_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let ca = new_ca(dir.path());

    for serial_hex in ["0a", "00:0b", "0a"] {
        ca.revoke(&RevokeTarget::Serial {
            serial_hex: serial_hex.to_owned(),
            sm2: true,
        })
        .unwrap();
    }
    let (serials, number) = read_crl_entries(&dir.path().join("sm2-crl.pem")).unwrap();

    assert_eq!(serials, vec![vec![0x0a], vec![0x0b]]);
    // init writes CRL number 1 with no entries; the three revocations give 2, 3 and 4.
    assert_eq!(number, 4);
    let (rsa_serials, rsa_number) = read_crl_entries(&dir.path().join("crl.pem")).unwrap();
    assert!(rsa_serials.is_empty());
    assert_eq!(rsa_number, 1);
}

#[test]
fn revoke_rejects_bad_serial() {
    let result = shared_ca().revoke(&RevokeTarget::Serial {
        serial_hex: "xyz".to_owned(),
        sm2: false,
    });

    assert!(matches!(result, Err(CertError::Malformed(_))), "{result:?}");
}
