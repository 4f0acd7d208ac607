//! One spooled envelope → one Kafka record.

use futures_util::future::BoxFuture;
use rdkafka::{
    message::{Header, OwnedHeaders},
    producer::{FutureProducer, FutureRecord},
};
use std::borrow::Cow;

/// The envelope attributes the record needs beside its bytes.
#[derive(serde::Deserialize)]
struct Head<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
    #[serde(borrow, rename = "type")]
    ty: Cow<'a, str>,
    #[serde(borrow)]
    subject: Cow<'a, str>,
}

/// How a send ended: acknowledged, or an error to retry from the spool.
pub(super) type Outcome = Result<(), String>;

/// Hands one envelope to librdkafka. `Err` (queue full) gives the payload
/// back so it can be sent first next time; `Ok` is the acknowledgement to await.
pub(super) fn send(
    producer: &FutureProducer<super::context::Context>,
    topic: &str,
    payload: Vec<u8>,
) -> Result<BoxFuture<'static, Outcome>, (String, Vec<u8>)> {
    let result = {
        // The spool's CRC guarantees these are the bytes we wrote, so a parse
        // failure is a bug; the record still goes out (unkeyed) rather than
        // block the spool.
        let head: Option<Head<'_>> = serde_json::from_slice(&payload).ok();
        let mut record = FutureRecord::<str, [u8]>::to(topic).payload(&payload);
        if let Some(h) = &head {
            // Structured-mode CloudEvents over Kafka; `ce_type`/`ce_id` let
            // consumers route and de-duplicate without parsing the value.
            let headers = OwnedHeaders::new_with_capacity(3)
                .insert(Header {
                    key: "content-type",
                    value: Some("application/cloudevents+json; charset=UTF-8"),
                })
                .insert(Header {
                    key: "ce_type",
                    value: Some(h.ty.as_ref()),
                })
                .insert(Header {
                    key: "ce_id",
                    value: Some(h.id.as_ref()),
                });
            record = record.key(h.subject.as_ref()).headers(headers);
        } else {
            tracing::error!("spooled event is not an envelope; sent without key");
        }
        producer.send_result(record).map_err(|(e, _)| e.to_string())
    };
    match result {
        Ok(delivery) => Ok(Box::pin(async move {
            match delivery.await {
                Ok(Ok(_)) => Ok(()),
                Ok(Err((e, _))) => Err(e.to_string()),
                Err(_) => Err("producer dropped the message".into()),
            }
        })),
        Err(e) => Err((e, payload)),
    }
}
