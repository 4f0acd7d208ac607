//! Application, device and endpoint events.

use serde::{Deserialize, Serialize};

use super::EventCommon;
use crate::{DeviceState, Endpoint};

/// Another events socket took this app over. This socket stays open but receives
/// nothing more (fixture 10): the gateway must not keep believing it serves the app.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApplicationReplaced {
    /// Common fields.
    #[serde(flatten)]
    pub common: EventCommon,
}

/// The app was registered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApplicationRegistered {
    /// Common fields.
    #[serde(flatten)]
    pub common: EventCommon,
}

/// The app was unregistered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApplicationUnregistered {
    /// Common fields.
    #[serde(flatten)]
    pub common: EventCommon,
}

/// A device's state changed (only with `subscribeAll` or a device subscription).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceStateChanged {
    /// Common fields.
    #[serde(flatten)]
    pub common: EventCommon,
    /// The device.
    pub device_state: DeviceState,
}

/// An endpoint's state changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EndpointStateChange {
    /// Common fields.
    #[serde(flatten)]
    pub common: EventCommon,
    /// The endpoint.
    pub endpoint: Endpoint,
}
