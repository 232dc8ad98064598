use rcgen::{CertificateParams, CustomExtension, DnType, KeyPair};

use super::super::devca::{CodePlace, KeyKind};
use super::super::test_support::{NAME, USCC, XorShift, default_sources, issue, issue_with};
use super::*;

const ORG_CODE: &str = "M000100Y4";

/// Builds a self-signed P-256 certificate with the given subject and extensions, for shapes
/// that the development CA does not issue.
fn self_signed(subject: &[(DnType, &str)], extensions: Vec<CustomExtension>) -> Vec<u8> {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    for (kind, value) in subject {
        params.distinguished_name.push(kind.clone(), *value);
    }
    params.custom_extensions = extensions;
    params.self_signed(&key).unwrap().der().to_vec()
}

fn arcs(oid: &str) -> Vec<u64> {
    oid.split('.').map(|arc| arc.parse().unwrap()).collect()
}

#[test]
fn read_identity_from_each_default_place() {
    let places = [
        (
            CodePlace::Extension("1.2.156.112570.11.210".into()),
            "1.2.156.112570.11.210",
        ),
        (
            CodePlace::Extension("1.2.156.10260.4.1.4".into()),
            "1.2.156.10260.4.1.4",
        ),
        (
            CodePlace::Extension("1.2.156.10260.4.1.3".into()),
            "1.2.156.10260.4.1.3",
        ),
        (
            CodePlace::Extension("1.2.86.11.7.3".into()),
            "1.2.86.11.7.3",
        ),
        (
            CodePlace::Extension("1.2.156.1.8888.148".into()),
            "1.2.156.1.8888.148",
        ),
        (CodePlace::SubjectSerialNumber, "subject.serialNumber"),
        (CodePlace::SubjectOu, "subject.OU"),
    ];

    for key in [KeyKind::P256, KeyKind::Sm2] {
        for (place, expected_source) in &places {
            let issued = issue_with(key, place.clone(), USCC);

            let identity = read_identity(&issued.cert_der, &default_sources()).unwrap();

            assert_eq!(identity.source, *expected_source, "{key:?} {place:?}");
            assert_eq!(
                identity.code,
                EnterpriseCode::Uscc {
                    code: USCC.into(),
                    check_digit_ok: true
                },
                "{key:?} {place:?}"
            );
            assert_eq!(identity.enterprise_name, NAME, "{key:?} {place:?}");
        }
    }
}

#[test]
fn read_identity_fills_certificate_fields() {
    let issued = issue(KeyKind::Rsa);

    let identity = read_identity(&issued.cert_der, &default_sources()).unwrap();
    let cert = parse_certificate(&issued.cert_der).unwrap();

    assert_eq!(
        identity.fingerprint_sha256,
        fingerprint_sha256(&issued.cert_der)
    );
    assert_eq!(identity.fingerprint_sha256.len(), 64);
    assert_eq!(
        identity.serial_hex,
        hex::encode(cert.tbs_certificate.serial.to_bytes_be())
    );
    assert!(identity.subject.contains("CN="), "{}", identity.subject);
    assert!(identity.not_before < identity.not_after);
}

#[test]
fn read_identity_org_code_only() {
    let issued = issue_with(KeyKind::P256, CodePlace::default(), "M000100Y-4");

    let identity = read_identity(&issued.cert_der, &default_sources()).unwrap();

    assert_eq!(
        identity.code,
        EnterpriseCode::OrgCode {
            code: ORG_CODE.into(),
            check_digit_ok: true
        }
    );
}

#[test]
fn read_identity_keeps_bad_check_digit() {
    let issued = issue_with(KeyKind::P256, CodePlace::SubjectOu, "91310000MA1FL8XQ38");

    let identity = read_identity(&issued.cert_der, &default_sources()).unwrap();

    assert!(!identity.code.check_digit_ok());
    assert_eq!(identity.code.code(), "91310000MA1FL8XQ38");
}

#[test]
fn read_identity_first_source_wins() {
    let utf8 = |value: &str| {
        let mut der = vec![0x0c, u8::try_from(value.len()).unwrap()];
        der.extend_from_slice(value.as_bytes());
        der
    };
    // The OU carries the organization code inside the USCC: the same enterprise.
    let der = self_signed(
        &[(DnType::OrganizationalUnitName, "MA1FL8XQ3")],
        vec![CustomExtension::from_oid_content(
            &arcs("1.2.86.11.7.3"),
            utf8(USCC),
        )],
    );

    let identity = read_identity(&der, &default_sources()).unwrap();
    assert_eq!(identity.code.code(), USCC);

    let ou_first = vec!["subject.OU".to_owned(), "1.2.86.11.7.3".to_owned()];
    let identity = read_identity(&der, &ou_first).unwrap();
    assert_eq!(identity.code.code(), "MA1FL8XQ3");
    assert_eq!(identity.source, "subject.OU");
}

#[test]
fn read_identity_rejects_conflicting_codes() {
    let utf8 = |value: &str| {
        let mut der = vec![0x0c, u8::try_from(value.len()).unwrap()];
        der.extend_from_slice(value.as_bytes());
        der
    };
    let der = self_signed(
        &[(DnType::OrganizationalUnitName, "91350100M000100Y43")],
        vec![CustomExtension::from_oid_content(
            &arcs("1.2.86.11.7.3"),
            utf8(USCC),
        )],
    );
    assert_eq!(
        read_identity(&der, &default_sources()),
        Err(CertError::Malformed(format!(
            "the certificate names different enterprises: {USCC} in 1.2.86.11.7.3 and 91350100M000100Y43 in subject.OU"
        )))
    );
}

#[test]
fn read_identity_skips_values_that_are_not_codes() {
    let der = self_signed(
        &[
            (DnType::OrganizationalUnitName, "Finance department"),
            (DnType::OrganizationalUnitName, USCC),
        ],
        vec![],
    );

    let identity = read_identity(&der, &default_sources()).unwrap();

    assert_eq!(identity.code.code(), USCC);
}

#[test]
fn read_identity_decodes_wrapped_and_bmp_strings() {
    let mut bmp = vec![0x1e, 36];
    for unit in USCC.encode_utf16() {
        bmp.extend_from_slice(&unit.to_be_bytes());
    }
    let mut wrapped = vec![0x04, 20, 0x13, 18];
    wrapped.extend_from_slice(b"91350100M000100Y43");

    for (content, expected) in [(bmp, USCC), (wrapped, "91350100M000100Y43")] {
        let der = self_signed(
            &[(DnType::CommonName, "x")],
            vec![CustomExtension::from_oid_content(
                &arcs("1.2.156.10260.4.1.4"),
                content,
            )],
        );

        let identity = read_identity(&der, &default_sources()).unwrap();

        assert_eq!(identity.code.code(), expected);
    }
}

#[test]
fn read_identity_name_from_o_then_cn() {
    let with_o = self_signed(
        &[
            (DnType::OrganizationName, "上海甲公司"),
            (DnType::CommonName, "张三"),
            (DnType::OrganizationalUnitName, USCC),
        ],
        vec![],
    );
    let cn_only = self_signed(
        &[
            (DnType::CommonName, "上海乙公司"),
            (DnType::OrganizationalUnitName, USCC),
        ],
        vec![],
    );

    let from_o = read_identity(&with_o, &default_sources()).unwrap();
    let from_cn = read_identity(&cn_only, &default_sources()).unwrap();

    assert_eq!(from_o.enterprise_name, "上海甲公司");
    assert_eq!(from_cn.enterprise_name, "上海乙公司");
}

#[test]
fn read_identity_without_code() {
    let der = self_signed(&[(DnType::CommonName, "no code here")], vec![]);

    let result = read_identity(&der, &default_sources());

    assert_eq!(result, Err(CertError::NoEnterpriseCode));
}

#[test]
fn read_identity_rejects_invalid_source() {
    let issued = issue(KeyKind::P256);

    for entry in ["subject.title", "not an oid", ""] {
        let result = read_identity(&issued.cert_der, &[entry.to_owned()]);
        assert_eq!(
            result,
            Err(CertError::InvalidCodeSource {
                entry: entry.to_owned()
            }),
            "{entry}"
        );
    }
    assert!(validate_sources(&default_sources()).is_ok());
}

#[test]
fn read_identity_malformed_inputs() {
    let issued = issue(KeyKind::P256);
    let der = &issued.cert_der;
    let mut trailing = der.clone();
    trailing.push(0);

    for input in [
        &[][..],
        b"not a certificate",
        &der[..der.len() / 2],
        &der[..1],
        &trailing,
    ] {
        let result = read_identity(input, &default_sources());
        assert!(matches!(result, Err(CertError::Malformed(_))), "{result:?}");
    }
}

#[test]
fn read_identity_never_panics_on_mutations() {
    let issued = issue(KeyKind::Sm2);
    let mut rng = XorShift(0x5eed_1234_abcd_0001);

    for _ in 0..3_000 {
        let mut input = issued.cert_der.clone();
        for _ in 0..=rng.below(4) {
            let index = rng.below(input.len());
            input[index] = u8::try_from(rng.next_u64() & 0xff).unwrap();
        }
        if rng.below(4) == 0 {
            input.truncate(rng.below(input.len()));
        }

        let _ = read_identity(&input, &default_sources());
    }
}

#[test]
fn pem_or_der_accepts_both_forms() {
    let issued = issue(KeyKind::P256);

    assert_eq!(
        pem_or_der_to_der(issued.cert_pem.as_bytes()).unwrap(),
        issued.cert_der
    );
    assert_eq!(
        pem_or_der_to_der(&issued.cert_der).unwrap(),
        issued.cert_der
    );
}

#[test]
fn pem_or_der_rejects_empty_and_bad_pem() {
    let no_certificate = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";

    for input in [
        &b""[..],
        b"  \n",
        no_certificate.as_bytes(),
        b"-----BEGIN CERTIFICATE-----\n!!",
    ] {
        let result = pem_or_der_to_der(input);
        assert!(matches!(result, Err(CertError::Malformed(_))), "{result:?}");
    }
}

#[test]
fn serial_hex_strips_leading_zeros() {
    assert_eq!(serial_hex(&[0x00, 0x8f, 0x01]), "8f01");
    assert_eq!(serial_hex(&[0x00]), "00");
    assert_eq!(serial_hex(&[]), "00");
}
