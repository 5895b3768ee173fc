//! Errors as SageMaker reports them over AWS JSON 1.1: an HTTP status, an
//! `x-amzn-ErrorType` header and a body `{"__type": ..., "message": ...}`.
//!
//! See <https://smithy.io/2.0/aws/protocols/aws-json-1_1-protocol.html>.

use axum::http::StatusCode;

/// One failed SageMaker call, named after the code AWS would answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// No `Authorization` header at all.
    MissingAuthenticationToken,
    /// An `Authorization` header that cannot be read.
    IncompleteSignature(String),
    /// Unknown access key id, or a session token that does not belong to it.
    UnrecognizedClient,
    /// The signature, its scope or its date does not check out.
    InvalidSignature(String),
    /// `X-Amz-Target` names no operation the emulator serves.
    UnknownOperation,
    /// The body is not the JSON the operation expects.
    Serialization(String),
    /// The body is larger than the emulator accepts.
    TooLarge,
    /// A field breaks the API's constraints.
    Validation(String),
    /// A domain, user profile or space does not exist.
    ResourceNotFound(String),
    /// A resource with that name exists already.
    ResourceInUse(String),
    /// An injected throttle.
    Throttling,
    /// An injected server failure.
    InternalFailure,
}

impl ApiError {
    /// The code that goes into `__type` and `x-amzn-ErrorType`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::MissingAuthenticationToken => "MissingAuthenticationTokenException",
            Self::IncompleteSignature(_) => "IncompleteSignatureException",
            Self::UnrecognizedClient => "UnrecognizedClientException",
            Self::InvalidSignature(_) => "InvalidSignatureException",
            Self::UnknownOperation => "UnknownOperationException",
            Self::Serialization(_) => "SerializationException",
            Self::TooLarge => "RequestEntityTooLargeException",
            Self::Validation(_) => "ValidationException",
            Self::ResourceNotFound(_) => "ResourceNotFound",
            Self::ResourceInUse(_) => "ResourceInUse",
            Self::Throttling => "ThrottlingException",
            Self::InternalFailure => "InternalFailure",
        }
    }

    /// The HTTP status AWS answers this error with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::InternalFailure => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    /// The human-readable `message` of the body.
    pub fn message(&self) -> String {
        match self {
            Self::MissingAuthenticationToken => "Missing Authentication Token".to_owned(),
            Self::UnrecognizedClient => {
                "The security token included in the request is invalid.".to_owned()
            }
            Self::UnknownOperation => "Unknown operation".to_owned(),
            Self::TooLarge => "Request entity too large".to_owned(),
            Self::Throttling => "Rate exceeded".to_owned(),
            Self::InternalFailure => {
                "We encountered an internal error. Please try again.".to_owned()
            }
            Self::IncompleteSignature(m)
            | Self::InvalidSignature(m)
            | Self::Serialization(m)
            | Self::Validation(m)
            | Self::ResourceNotFound(m)
            | Self::ResourceInUse(m) => m.clone(),
        }
    }

    /// The JSON body of the error answer.
    pub fn body(&self) -> serde_json::Value {
        serde_json::json!({ "__type": self.code(), "message": self.message() })
    }

    /// A signature that does not match the one the emulator computes.
    pub fn signature_mismatch() -> Self {
        Self::InvalidSignature(
            "The request signature we calculated does not match the \
             signature you provided. Check your AWS Secret Access Key and \
             signing method. Consult the service documentation for details."
                .to_owned(),
        )
    }
}
