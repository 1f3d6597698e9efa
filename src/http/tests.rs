//! The HTTP layer's helpers: backoff, snippets, URLs in messages, the
//! pacer and the fan-outs.

use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::time::Instant;

use super::client::{display_url, SNIPPET_CHARS};
use super::pacer::{Pacer, HOLD, PAUSE, WINDOW};
use super::*;
use crate::error::Error;

#[test]
fn backoff_grows_and_caps() {
    let r = RetryConfig {
        max_attempts: 10,
        backoff: Duration::from_millis(100),
        max_backoff: Duration::from_millis(1000),
        max_retry_wait: Duration::from_secs(60),
    };
    for _ in 0..50 {
        let d1 = backoff(&r, 1);
        assert!(d1 >= Duration::from_millis(50) && d1 <= Duration::from_millis(100));
        let d3 = backoff(&r, 3);
        assert!(d3 >= Duration::from_millis(200) && d3 <= Duration::from_millis(400));
        let d9 = backoff(&r, 9);
        assert!(d9 <= Duration::from_millis(1000));
    }
}

#[test]
fn snippets_are_short_single_line_and_redacted() {
    let html = b"<html>\n<head><title>403 Forbidden</title></head>\n<body><h1>Access denied</h1>\n<p>token=x access_token=abc</p></body></html>";
    assert_eq!(
        snippet(html),
        "403 Forbidden Access denied token=x access_token=***"
    );
    assert_eq!(snippet(b""), "(empty body)");
    assert_eq!(snippet(b"  \n "), "(empty body)");
    let long = "x".repeat(1000);
    let s = snippet(long.as_bytes());
    assert_eq!(s.chars().count(), SNIPPET_CHARS + 1);
    assert!(s.ends_with('…'));
    // JSON keeps its angle brackets; invalid UTF-8 does not panic
    assert_eq!(snippet(b"{\"a\": \"<b>\"}"), "{\"a\": \"<b>\"}");
    assert!(!snippet(&[0xff, 0xfe, b'a']).is_empty());
}

#[test]
fn urls_in_messages_lose_query_and_user_info() {
    let u = reqwest::Url::parse("https://user:pw@example.com:8443/a/b?access_token=s#f").unwrap();
    assert_eq!(display_url(&u), "https://example.com:8443/a/b");
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
}

#[test]
fn run_in_order_delivers_in_order_and_stops_at_the_first_error() {
    rt().block_on(async {
        let ms = |n: u64| Duration::from_millis(n);
        // finish out of order, delivered in order
        let futs: Vec<_> = [30u64, 10, 20]
            .into_iter()
            .enumerate()
            .map(|(i, d)| async move {
                tokio::time::sleep(ms(d)).await;
                Ok::<_, Error>(i)
            })
            .collect();
        let mut got = vec![];
        run_in_order(futs, 3, |i, v| {
            got.push((i, v));
            Ok(())
        })
        .await
        .unwrap();
        assert_eq!(got, [(0, 0), (1, 1), (2, 2)]);
        // a failure stops at once: the slow future is dropped, not awaited
        let started = Instant::now();
        let futs: Vec<_> = [(10_000u64, true), (10, true), (20, false), (10, true)]
            .into_iter()
            .map(|(d, ok)| async move {
                tokio::time::sleep(ms(d)).await;
                if ok {
                    Ok(d)
                } else {
                    Err(Error::invalid("boom"))
                }
            })
            .collect();
        let f = run_in_order(futs, 4, |_, _| Ok(())).await.unwrap_err();
        assert!(started.elapsed() < ms(1000));
        assert_eq!((f.index, f.delivered), (2, 0));
        assert_eq!(f.error.to_string(), "boom");
        // at most `limit` in flight
        let live = std::sync::atomic::AtomicUsize::new(0);
        let peak = std::sync::atomic::AtomicUsize::new(0);
        let futs: Vec<_> = (0..10)
            .map(|_| async {
                let n = live.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(n, Ordering::SeqCst);
                tokio::time::sleep(ms(5)).await;
                live.fetch_sub(1, Ordering::SeqCst);
                Ok(())
            })
            .collect();
        assert_eq!(try_all(futs, 3).await.unwrap().len(), 10);
        assert_eq!(peak.load(Ordering::SeqCst), 3);
    });
}

#[test]
fn pacer_slows_down_on_a_signal_and_recovers() {
    rt().block_on(async {
        let p = Pacer::new(100);
        assert_eq!(p.rate(), 100.0);
        // ten requests accepted, then a rate-limit answer
        let mut sent = Instant::now();
        for _ in 0..10 {
            sent = p.wait().await;
            p.accepted();
        }
        assert!(p.limited(sent + Duration::from_millis(1)));
        assert!((p.rate() - 9.0).abs() < 1e-9, "{}", p.rate());
        // the same overload: ignored; the pause holds the next request
        assert!(!p.limited(Instant::now()));
        let t = Instant::now();
        let next = p.wait().await;
        assert!(next.duration_since(t) >= PAUSE - Duration::from_millis(5));
        // accepted replies raise the rate again, never above the maximum
        let before = p.rate();
        p.accepted();
        assert!(p.rate() > before);
        for _ in 0..100_000 {
            p.accepted();
        }
        assert_eq!(p.rate(), 100.0);
        // a signal with nothing accepted in the last second halves it
        tokio::time::sleep(HOLD + WINDOW).await;
        assert!(p.limited(Instant::now()));
        assert!((p.rate() - 50.0).abs() < 1e-9, "{}", p.rate());
    });
}

#[test]
fn pacer_does_not_sleep_for_a_slot_already_due() {
    // tokio's timer rounds a deadline up to the next millisecond: a
    // sleep per request would cap a fast client near 1,000 requests/s
    rt().block_on(async {
        let p = Pacer::new(u32::MAX);
        let started = std::time::Instant::now();
        for _ in 0..2000 {
            p.wait().await;
        }
        assert!(
            started.elapsed() < Duration::from_millis(500),
            "{:?}",
            started.elapsed()
        );
    });
}

#[test]
fn clients_of_one_app_share_its_pacer_until_it_is_idle() {
    let cfg = HttpConfig::new(10, 4);
    let mut a = Http::new("test", cfg.clone()).unwrap();
    a.pace_as("app-1");
    let mut b = Http::new("test", cfg.clone()).unwrap();
    b.pace_as("app-1");
    assert!(a.paced_with(&b), "one app, one pacer");
    let mut other = Http::new("test", cfg.clone()).unwrap();
    other.pace_as("app-2");
    assert!(!other.paced_with(&a), "another app, another pacer");
    let mut faster = Http::new("test", HttpConfig::new(20, 4)).unwrap();
    faster.pace_as("app-1");
    assert!(!faster.paced_with(&a), "another rate limit, another pacer");
    // a client that comes after the others are gone still paces with them
    // while their last request is less than a window old
    let rt = rt();
    rt.block_on(a.pacer_wait_for_test());
    drop(b);
    drop(a);
    let mut c = Http::new("test", cfg).unwrap();
    c.pace_as("app-1");
    let started = std::time::Instant::now();
    rt.block_on(c.pacer_wait_for_test());
    assert!(
        started.elapsed() >= Duration::from_millis(80),
        "the next slot of the app (10/s) is 100 ms after the last: {:?}",
        started.elapsed()
    );
}

#[test]
fn config_validation() {
    let mut c = HttpConfig::new(10, 4);
    assert!(c.validate().is_ok());
    c.rate_limit = 0;
    assert!(c.validate().is_err());
}
