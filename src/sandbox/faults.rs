//! Fault injection: what a fault does to a reply, which requests it hits,
//! and the replies of the faults every provider shares.

use std::time::Duration;

use axum::body::Body;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// What a fault does to the reply.
#[derive(Debug, Clone, PartialEq)]
pub enum FaultKind {
    /// Answer with this HTTP status and an empty body.
    Status(u16),
    /// Answer with the provider's error envelope carrying this code.
    Code(i64),
    /// Delay the reply.
    Delay(Duration),
    /// Cut the JSON body in half.
    Truncate,
    /// Reset the connection mid-body.
    Reset,
    /// Report a `total` that is off by this much.
    WrongTotal(i64),
    /// Serve the previous page's rows instead of the asked-for page.
    DuplicatePage,
    /// Leave this many rows out of the page.
    DropRows(usize),
    /// Expire the credential used by this request before answering.
    ExpireToken,
}

/// A fault with a scope and a count.
#[derive(Debug, Clone)]
pub struct Fault {
    pub provider: Option<String>,
    /// Endpoint name (last path segment), e.g. `getanalysissource`.
    pub endpoint: Option<String>,
    pub kind: FaultKind,
    /// Matching requests to let through before the fault starts.
    pub skip: u32,
    /// How many times it fires; `None` = every matching request.
    pub times: Option<u32>,
    /// Only for requests whose query/body has this `start_index`/window.
    pub offset: Option<i64>,
}

impl Fault {
    /// A fault of `provider`/`endpoint` that lets `skip` requests through,
    /// then fires `times` times (`None`: always), at any page offset.
    pub fn on(
        provider: &str,
        endpoint: &str,
        kind: FaultKind,
        skip: u32,
        times: Option<u32>,
    ) -> Self {
        Fault {
            provider: Some(provider.to_string()),
            endpoint: Some(endpoint.to_string()),
            kind,
            skip,
            times,
            offset: None,
        }
    }
}

/// The reply for faults that do not need the provider's envelope.
pub fn generic_fault(kind: &FaultKind) -> Option<Response> {
    match kind {
        FaultKind::Status(s) => Some(
            (
                StatusCode::from_u16(*s).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                "",
            )
                .into_response(),
        ),
        FaultKind::Reset => {
            let chunks: Vec<std::result::Result<&'static str, std::io::Error>> = vec![
                Ok("{\"errno\":0,\"data\":{"),
                Err(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "sandbox: connection reset",
                )),
            ];
            Some(
                Response::builder()
                    .header("content-type", "application/json")
                    .body(Body::from_stream(futures::stream::iter(chunks)))
                    .expect("response"),
            )
        }
        _ => None,
    }
}

/// A JSON reply, truncated when the fault says so.
pub fn json_reply(body: String, fault: Option<&FaultKind>) -> Response {
    let body = if fault == Some(&FaultKind::Truncate) {
        let mut cut = body.len() / 2;
        while !body.is_char_boundary(cut) {
            cut -= 1;
        }
        body[..cut].to_string()
    } else {
        body
    };
    ([("content-type", "application/json; charset=utf-8")], body).into_response()
}
