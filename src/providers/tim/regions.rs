//! Tencent Cloud IM's data centers, and finding one by name.

use crate::error::{Error, Result};

/// A data center of Tencent Cloud IM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    /// Readable name (`singapore`).
    pub name: &'static str,
    /// Short code, as in the domain (`sgp`).
    pub code: &'static str,
    pub domain: &'static str,
    /// The documented standby domain, used when `domain` cannot be reached
    /// (DNS or connect failure).
    pub standby: Option<&'static str>,
}

pub const REGIONS: &[Region] = &[
    Region {
        name: "china",
        code: "cn",
        domain: "console.tim.qq.com",
        standby: Some("adminapi.my-imcloud.com"),
    },
    Region {
        name: "singapore",
        code: "sgp",
        domain: "adminapisgp.im.qcloud.com",
        standby: Some("adminapisgp.my-imcloud.com"),
    },
    Region {
        name: "seoul",
        code: "kr",
        domain: "adminapikr.im.qcloud.com",
        standby: Some("adminapikr.my-imcloud.com"),
    },
    Region {
        name: "frankfurt",
        code: "ger",
        domain: "adminapiger.im.qcloud.com",
        standby: Some("adminapiger.my-imcloud.com"),
    },
    Region {
        name: "mumbai",
        code: "ind",
        domain: "adminapiind.im.qcloud.com",
        standby: Some("adminapiind.my-imcloud.com"),
    },
    Region {
        name: "silicon_valley",
        code: "usa",
        domain: "adminapiusa.im.qcloud.com",
        standby: Some("adminapiusa.my-imcloud.com"),
    },
    Region {
        name: "jakarta",
        code: "idn",
        domain: "adminapiidn.im.qcloud.com",
        standby: None,
    },
    Region {
        name: "tokyo",
        code: "jpn",
        domain: "adminapijpn.im.qcloud.com",
        standby: None,
    },
];

/// Find a region by name, code, domain or standby domain
/// (case-insensitive; in names `-` and spaces count as `_`).
pub fn region(s: &str) -> Result<&'static Region> {
    let host = s.trim().to_ascii_lowercase();
    let t = host.replace(['-', ' '], "_");
    REGIONS
        .iter()
        .find(|r| {
            r.name == t || r.code == t || r.domain == host || r.standby == Some(host.as_str())
        })
        .ok_or_else(|| {
            let valid: Vec<String> = REGIONS
                .iter()
                .map(|r| format!("{}/{}", r.name, r.code))
                .collect();
            Error::invalid(format!(
                "unknown Tencent IM region {s:?}; valid regions are {} (or a base URL like https://console.tim.qq.com)",
                valid.join(", ")
            ))
        })
}
