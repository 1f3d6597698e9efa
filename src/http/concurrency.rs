//! Running many futures under one limit, in order and failing fast (the
//! many-app fan-out that keeps going when one fails is [`crate::fanout`]).

use std::collections::BTreeMap;
use std::future::Future;

use crate::error::{Error, Result};

/// A fan-out that stopped at a failure.
#[derive(Debug)]
pub struct Failed {
    /// Position of the future that failed.
    pub index: usize,
    pub error: Error,
    /// Positions handed to the sink before the failure (a prefix).
    pub delivered: usize,
}

/// Run futures with at most `limit` in flight (finished but not yet
/// delivered results count too) and hand their results to `sink` in input
/// order as soon as each one's predecessors are in. Fails fast: the first
/// error (in completion order, from a future or the sink) stops everything
/// at once — the futures still running are dropped, cancelling their
/// requests.
pub async fn run_in_order<F, T>(
    futs: Vec<F>,
    limit: usize,
    mut sink: impl FnMut(usize, T) -> Result<()>,
) -> std::result::Result<(), Failed>
where
    F: Future<Output = Result<T>>,
{
    use futures::stream::{FuturesUnordered, StreamExt};
    let limit = limit.max(1);
    let mut todo = futs.into_iter().enumerate();
    let mut running = FuturesUnordered::new();
    let mut ready: BTreeMap<usize, T> = BTreeMap::new();
    let mut delivered = 0usize;
    loop {
        while running.len() + ready.len() < limit {
            let Some((i, f)) = todo.next() else { break };
            running.push(async move { (i, f.await) });
        }
        let Some((i, r)) = running.next().await else {
            return Ok(());
        };
        match r {
            Ok(v) => {
                ready.insert(i, v);
                while let Some(v) = ready.remove(&delivered) {
                    if let Err(error) = sink(delivered, v) {
                        return Err(Failed {
                            index: delivered,
                            error,
                            delivered,
                        });
                    }
                    delivered += 1;
                }
            }
            Err(error) => {
                return Err(Failed {
                    index: i,
                    error,
                    delivered,
                })
            }
        }
    }
}

/// [`run_in_order`] collecting the results.
pub async fn try_all<F, T>(futs: Vec<F>, limit: usize) -> std::result::Result<Vec<T>, Failed>
where
    F: Future<Output = Result<T>>,
{
    let mut out = Vec::new();
    run_in_order(futs, limit, |_, v| {
        out.push(v);
        Ok(())
    })
    .await?;
    Ok(out)
}
