use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};

use super::super::devca::{DevCa, IssueOptions, KeyKind, RevokeTarget};
use super::super::test_support::{
    NAME, XorShift, ca_pems, issue, new_ca, options, shared_ca, unix_now,
};
use super::*;

fn shared_store() -> TrustStore {
    let pems = ca_pems(shared_ca());
    let pems: Vec<&str> = pems.iter().map(String::as_str).collect();
    TrustStore::from_pem(&pems, &[]).unwrap()
}

fn load_store(ca: &DevCa) -> TrustStore {
    let crls: Vec<PathBuf> = ca.crl_paths().into_iter().filter(|p| p.exists()).collect();
    TrustStore::load(&ca.ca_pem_paths(), &crls).unwrap()
}

/// Parameters for a P-256 CA certificate with the given common name.
fn ca_params(common_name: &str) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params
}

fn leaf_params() -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, "leaf");
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params
}

#[test]
fn verify_accepts_each_key_kind() {
    let store = shared_store();

    for key in [KeyKind::Rsa, KeyKind::P256, KeyKind::Sm2] {
        let issued = issue(key);
        assert_eq!(
            store.verify(&issued.cert_der, &[], unix_now()),
            Ok(()),
            "{key:?}"
        );
    }
}

#[test]
fn verify_p256_chain_with_intermediate() {
    let root_key = KeyPair::generate().unwrap();
    let root_params = ca_params("Test Root");
    let root = root_params.self_signed(&root_key).unwrap();
    let root_issuer = Issuer::new(root_params, root_key);

    let intermediate_key = KeyPair::generate().unwrap();
    let intermediate_params = ca_params("Test Intermediate");
    let intermediate = intermediate_params
        .signed_by(&intermediate_key, &root_issuer)
        .unwrap();
    let intermediate_issuer = Issuer::new(intermediate_params, intermediate_key);

    let leaf_key = KeyPair::generate().unwrap();
    let leaf = leaf_params()
        .signed_by(&leaf_key, &intermediate_issuer)
        .unwrap();
    let store = TrustStore::from_pem(&[&root.pem()], &[]).unwrap();
    let intermediates = vec![intermediate.der().to_vec()];

    assert_eq!(store.verify(leaf.der(), &intermediates, unix_now()), Ok(()));
    assert_eq!(
        store.verify(leaf.der(), &[], unix_now()),
        Err(CertError::UntrustedIssuer {
            issuer: "CN=Test Intermediate".into()
        })
    );
}

#[test]
fn verify_enforces_path_length() {
    let root_key = KeyPair::generate().unwrap();
    let mut root_params = ca_params("Test Root Pathlen");
    root_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    let root = root_params.self_signed(&root_key).unwrap();
    let root_issuer = Issuer::new(root_params, root_key);

    let intermediate_key = KeyPair::generate().unwrap();
    let intermediate_params = ca_params("Test Intermediate Below Pathlen 0");
    let intermediate = intermediate_params
        .signed_by(&intermediate_key, &root_issuer)
        .unwrap();
    let intermediate_issuer = Issuer::new(intermediate_params, intermediate_key);

    let leaf_key = KeyPair::generate().unwrap();
    let leaf = leaf_params()
        .signed_by(&leaf_key, &intermediate_issuer)
        .unwrap();
    let direct_leaf = leaf_params().signed_by(&leaf_key, &root_issuer).unwrap();
    let store = TrustStore::from_pem(&[&root.pem()], &[]).unwrap();

    assert_eq!(
        store.verify(leaf.der(), &[intermediate.der().to_vec()], unix_now()),
        Err(CertError::PathLength {
            subject: "CN=Test Root Pathlen".into()
        })
    );
    assert_eq!(store.verify(direct_leaf.der(), &[], unix_now()), Ok(()));
}

#[test]
fn verify_rejects_ca_leaf_and_unknown_critical_extension() {
    let root_key = KeyPair::generate().unwrap();
    let root_params = ca_params("Test Root Leaf Profile");
    let root = root_params.self_signed(&root_key).unwrap();
    let root_issuer = Issuer::new(root_params, root_key);
    let store_with_root = TrustStore::from_pem(&[&root.pem()], &[]).unwrap();

    let leaf_key = KeyPair::generate().unwrap();
    let mut ca_leaf = leaf_params();
    ca_leaf.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_leaf = ca_leaf.signed_by(&leaf_key, &root_issuer).unwrap();
    assert!(matches!(
        store_with_root.verify(ca_leaf.der(), &[], unix_now()),
        Err(CertError::Malformed(_))
    ));

    let mut critical = leaf_params();
    let mut extension =
        rcgen::CustomExtension::from_oid_content(&[1, 2, 3, 4, 5], vec![0x05, 0x00]);
    extension.set_criticality(true);
    critical.custom_extensions = vec![extension];
    let critical = critical.signed_by(&leaf_key, &root_issuer).unwrap();
    let result = store_with_root.verify(critical.der(), &[], unix_now());
    assert_eq!(
        result,
        Err(CertError::Malformed(
            "unknown critical extension 1.2.3.4.5".into()
        ))
    );
}

#[test]
fn verify_rejects_unknown_ca() {
    let other_key = KeyPair::generate().unwrap();
    let other_params = ca_params("Other CA");
    let other_issuer = Issuer::new(other_params, other_key);
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = leaf_params().signed_by(&leaf_key, &other_issuer).unwrap();

    let result = shared_store().verify(leaf.der(), &[], unix_now());

    assert_eq!(
        result,
        Err(CertError::UntrustedIssuer {
            issuer: "CN=Other CA".into()
        })
    );
    assert_eq!(result.unwrap_err().reason(), "untrusted_issuer");
}

#[test]
fn verify_rejects_same_name_other_key() {
    let dir = tempfile::tempdir().unwrap();
    let impostor = new_ca(dir.path());
    let store = shared_store();

    for key in [KeyKind::Rsa, KeyKind::Sm2] {
        let issued = impostor.issue(&options(key)).unwrap();
        let result = store.verify(&issued.cert_der, &[], unix_now());
        assert_eq!(result, Err(CertError::BadSignature), "{key:?}");
    }
}

#[test]
fn verify_rejects_expired_and_not_yet_valid() {
    let store = shared_store();
    for key in [KeyKind::Rsa, KeyKind::Sm2] {
        let expired = shared_ca()
            .issue(&IssueOptions {
                expired: true,
                ..options(key)
            })
            .unwrap();
        let result = store.verify(&expired.cert_der, &[], unix_now());
        assert!(
            matches!(result, Err(CertError::Expired { .. })),
            "{key:?} {result:?}"
        );
    }

    let issued = issue(KeyKind::P256);
    let before = store.verify(&issued.cert_der, &[], unix_now() - 30 * 86_400);
    assert!(
        matches!(before, Err(CertError::NotYetValid { .. })),
        "{before:?}"
    );
    let after = store.verify(&issued.cert_der, &[], unix_now() + 20 * 365 * 86_400);
    assert!(matches!(after, Err(CertError::Expired { .. })), "{after:?}");
}

#[test]
fn verify_rejects_key_usage_without_digital_signature() {
    let store = shared_store();

    for key in [KeyKind::Rsa, KeyKind::Sm2] {
        let issued = shared_ca()
            .issue(&IssueOptions {
                digital_signature: false,
                ..options(key)
            })
            .unwrap();
        let result = store.verify(&issued.cert_der, &[], unix_now());
        assert_eq!(result, Err(CertError::KeyUsage), "{key:?}");
    }
}

#[test]
fn verify_rejects_leaf_used_as_issuer() {
    let not_ca = issue(KeyKind::P256);
    let not_ca_key = KeyPair::from_pem(&not_ca.key_pem).unwrap();
    let mut not_ca_params = CertificateParams::default();
    not_ca_params.distinguished_name = rcgen::DistinguishedName::new();
    not_ca_params
        .distinguished_name
        .push(DnType::CountryName, "CN");
    not_ca_params
        .distinguished_name
        .push(DnType::OrganizationName, NAME);
    not_ca_params
        .distinguished_name
        .push(DnType::CommonName, NAME);
    let issuer = Issuer::new(not_ca_params, not_ca_key);
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = leaf_params().signed_by(&leaf_key, &issuer).unwrap();

    let result = shared_store().verify(
        leaf.der(),
        std::slice::from_ref(&not_ca.cert_der),
        unix_now(),
    );
    assert!(matches!(result, Err(CertError::NotCa { .. })), "{result:?}");

    let anchor_result = TrustStore::from_pem(&[&not_ca.cert_pem], &[]);
    assert!(
        matches!(anchor_result, Err(CertError::NotCa { .. })),
        "{anchor_result:?}"
    );
}

#[test]
fn verify_rejects_revoked_rsa_and_sm2() {
    let dir = tempfile::tempdir().unwrap();
    let ca = new_ca(dir.path());

    for key in [KeyKind::Rsa, KeyKind::Sm2] {
        let revoked = ca.issue(&options(key)).unwrap();
        let not_revoked = ca.issue(&options(key)).unwrap();
        ca.revoke(&RevokeTarget::Certificate(revoked.cert_der.clone()))
            .unwrap();
        let store = load_store(&ca);

        let result = store.verify(&revoked.cert_der, &[], unix_now());
        let serial_hex = serial_hex(parse_certificate(&revoked.cert_der).unwrap().raw_serial());
        assert_eq!(result, Err(CertError::Revoked { serial_hex }), "{key:?}");
        assert_eq!(
            store.verify(&not_revoked.cert_der, &[], unix_now()),
            Ok(()),
            "{key:?}"
        );
    }
}

#[test]
fn verify_rejects_crl_signed_by_other_key() {
    let dir = tempfile::tempdir().unwrap();
    let impostor = new_ca(dir.path());
    let issued = issue(KeyKind::Rsa);
    let crl_path = impostor
        .revoke(&RevokeTarget::Certificate(issued.cert_der.clone()))
        .unwrap();
    let crl = fs::read(crl_path).unwrap();
    let pems = ca_pems(shared_ca());

    let store = TrustStore::from_pem(&[&pems[0]], &[crl]).unwrap();
    let result = store.verify(&issued.cert_der, &[], unix_now());

    assert!(
        matches!(result, Err(CertError::BadCrl { .. })),
        "{result:?}"
    );
}

#[test]
fn reload_picks_up_new_revocations() {
    let dir = tempfile::tempdir().unwrap();
    let ca = new_ca(dir.path());
    let first = ca.issue(&options(KeyKind::P256)).unwrap();
    let second = ca.issue(&options(KeyKind::P256)).unwrap();
    ca.revoke(&RevokeTarget::Certificate(first.cert_der.clone()))
        .unwrap();
    let mut store = load_store(&ca);
    assert_eq!(store.verify(&second.cert_der, &[], unix_now()), Ok(()));
    assert_eq!(store.reload_if_changed(), Ok(false));

    // Some file systems keep modification times in whole seconds.
    std::thread::sleep(std::time::Duration::from_millis(1_100));
    let serial_hex = serial_hex(parse_certificate(&second.cert_der).unwrap().raw_serial());
    ca.revoke(&RevokeTarget::Serial {
        serial_hex: serial_hex.clone(),
        sm2: false,
    })
    .unwrap();

    assert_eq!(store.reload_if_changed(), Ok(true));
    assert_eq!(
        store.verify(&second.cert_der, &[], unix_now()),
        Err(CertError::Revoked {
            serial_hex: serial_hex.clone()
        })
    );
    assert_eq!(store.reload_if_changed(), Ok(false));

    // An older copy of the CRL put back in place is refused; the newer entries stay in force.
    std::thread::sleep(std::time::Duration::from_millis(1_100));
    std::fs::write(dir.path().join("crl.pem"), ca_crl_with_number_one(&ca)).unwrap();
    assert!(matches!(
        store.reload_if_changed(),
        Err(CertError::BadCrl { .. })
    ));
    assert_eq!(
        store.verify(&second.cert_der, &[], unix_now()),
        Err(CertError::Revoked { serial_hex })
    );
}

/// The CA's CRL as first written by `DevCa::init`: number 1, no entries.
fn ca_crl_with_number_one(ca: &DevCa) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("copy");
    std::fs::create_dir_all(&copy).unwrap();
    for file in ["ca.pem", "ca.key.pem", "sm2-ca.pem", "sm2-ca.key.pem"] {
        std::fs::copy(ca.dir().join(file), copy.join(file)).unwrap();
    }
    DevCa::init(&copy).unwrap();
    std::fs::read(copy.join("crl.pem")).unwrap()
}

#[test]
fn load_reports_missing_files() {
    let missing = PathBuf::from("/nonexistent/ca.pem");

    let result = TrustStore::load(&[missing], &[]);

    assert!(matches!(result, Err(CertError::Io { .. })), "{result:?}");
}

#[test]
fn load_reads_pem_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("bundle.pem");
    fs::write(&bundle, ca_pems(shared_ca()).concat()).unwrap();

    let store = TrustStore::load(&[bundle], &[]).unwrap();

    assert_eq!(store.anchor_count(), 2);
    assert_eq!(
        store.verify(&issue(KeyKind::Sm2).cert_der, &[], unix_now()),
        Ok(())
    );
}

#[test]
fn verify_malformed_inputs() {
    let store = shared_store();
    let der = issue(KeyKind::Rsa).cert_der;

    for input in [
        &[][..],
        b"\x30\x03\x02\x01",
        &der[..der.len() - 1],
        b"random bytes",
    ] {
        let result = store.verify(input, &[], unix_now());
        assert!(matches!(result, Err(CertError::Malformed(_))), "{result:?}");
    }
    let bad_intermediate = store.verify(&der, &[vec![0x30, 0x00]], unix_now());
    assert!(
        matches!(bad_intermediate, Err(CertError::Malformed(_))),
        "{bad_intermediate:?}"
    );
}

#[test]
fn verify_never_panics_on_mutations() {
    let store = shared_store();
    let mut rng = XorShift(0x5eed_0000_0000_0002);

    for key in [KeyKind::Rsa, KeyKind::P256, KeyKind::Sm2] {
        let der = issue(key).cert_der;
        for _ in 0..1_000 {
            let mut input = der.clone();
            for _ in 0..=rng.below(3) {
                let index = rng.below(input.len());
                input[index] ^= u8::try_from(rng.next_u64() & 0xff).unwrap() | 1;
            }
            if rng.below(5) == 0 {
                input.truncate(rng.below(input.len()));
            }

            let result = store.verify(&input, &[input.clone()], unix_now());
            assert_ne!(result, Ok(()), "a mutated certificate verified");
        }
    }
}
