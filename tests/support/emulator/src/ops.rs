//! The SageMaker operations the emulator serves, on the in-memory store:
//! domains, user profiles and spaces. `CreatePresignedDomainUrl` lives in
//! `presign`.

use rand::Rng;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::presign;
use crate::state::Store;
use crate::validate::{self, Checks};
use crate::{App, Arn};

/// Every operation name accepted after `SageMaker.` in `X-Amz-Target`.
pub const OPERATIONS: [&str; 8] = [
    "CreateDomain",
    "DescribeDomain",
    "CreateUserProfile",
    "DescribeUserProfile",
    "ListUserProfiles",
    "CreateSpace",
    "ListSpaces",
    "CreatePresignedDomainUrl",
];

/// Runs one operation on its JSON body.
///
/// # Errors
///
/// The error SageMaker would answer.
pub fn dispatch(app: &App, operation: &str, body: &[u8]) -> Result<Value, ApiError> {
    let mut store = app.store();
    match operation {
        "CreateDomain" => create_domain(app, &mut store, parse(body)?),
        "DescribeDomain" => describe_domain(app, &store, parse(body)?),
        "CreateUserProfile" => create_profile(app, &mut store, parse(body)?),
        "DescribeUserProfile" => describe_profile(app, &store, parse(body)?),
        "ListUserProfiles" => list_profiles(&store, parse(body)?),
        "CreateSpace" => create_space(app, &mut store, parse(body)?),
        "ListSpaces" => list_spaces(&store, parse(body)?),
        "CreatePresignedDomainUrl" => presign::create(app, &mut store, parse(body)?),
        _ => Err(ApiError::UnknownOperation),
    }
}

fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::Serialization(e.to_string()))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DomainInput {
    domain_id: Option<String>,
    domain_name: Option<String>,
    auth_mode: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ProfileInput {
    domain_id: Option<String>,
    user_profile_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SpaceInput {
    domain_id: Option<String>,
    space_name: Option<String>,
    ownership_settings: Option<Ownership>,
    space_sharing_settings: Option<Sharing>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Ownership {
    owner_user_profile_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Sharing {
    sharing_type: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListInput {
    domain_id_equals: Option<String>,
    user_profile_name_contains: Option<String>,
    space_name_contains: Option<String>,
    max_results: Option<i64>,
    next_token: Option<String>,
}

fn create_domain(app: &App, store: &mut Store, input: DomainInput) -> Result<Value, ApiError> {
    let mut checks = Checks::default();
    checks.required("domainName", input.domain_name.as_ref());
    checks.required("authMode", input.auth_mode.as_ref());
    let name = input.domain_name.as_deref();
    checks.pattern("domainName", name, validate::is_name, validate::NAME);
    let mode = input.auth_mode.as_deref().unwrap_or("IAM");
    if !["IAM", "SSO"].contains(&mode) {
        checks.other(format!(
            "Value '{mode}' at 'authMode' failed to satisfy constraint: \
             Member must satisfy enum value set: [SSO, IAM]"
        ));
    }
    checks.finish()?;

    let id = fresh_domain_id(store);
    store.add_domain(&id, name.unwrap_or_default(), mode)?;
    let url = format!("https://{id}.studio.{}.sagemaker.aws", app.region);
    Ok(json!({ "DomainId": id, "DomainArn": app.arn(Arn::Domain(&id)), "Url": url }))
}

fn fresh_domain_id(store: &Store) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    loop {
        let suffix: String = (0..12)
            .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
            .collect();
        let id = format!("d-{suffix}");
        if !store.domains.contains_key(&id) {
            return id;
        }
    }
}

fn describe_domain(app: &App, store: &Store, input: DomainInput) -> Result<Value, ApiError> {
    let id = checked_domain_id("domainId", input.domain_id.as_deref())?;
    let domain = store.domain(id)?;
    Ok(json!({
        "DomainId": id,
        "DomainArn": app.arn(Arn::Domain(id)),
        "DomainName": domain.name,
        "AuthMode": domain.auth_mode,
        "Status": "InService",
        "CreationTime": domain.created,
        "LastModifiedTime": domain.created,
        "Url": format!("https://{id}.studio.{}.sagemaker.aws", app.region),
    }))
}

/// A required, well-formed domain id.
fn checked_domain_id<'a>(field: &str, id: Option<&'a str>) -> Result<&'a str, ApiError> {
    let mut checks = Checks::default();
    checks.required(field, id);
    checks.pattern(field, id, validate::is_domain_id, validate::DOMAIN_ID);
    checks.finish()?;
    Ok(id.unwrap_or_default())
}

fn checked_profile(input: &ProfileInput) -> Result<(&str, &str), ApiError> {
    let mut checks = Checks::default();
    let (id, name) = (
        input.domain_id.as_deref(),
        input.user_profile_name.as_deref(),
    );
    checks.required("domainId", id);
    checks.pattern("domainId", id, validate::is_domain_id, validate::DOMAIN_ID);
    checks.required("userProfileName", name);
    checks.pattern("userProfileName", name, validate::is_name, validate::NAME);
    checks.finish()?;
    Ok((id.unwrap_or_default(), name.unwrap_or_default()))
}

fn create_profile(app: &App, store: &mut Store, input: ProfileInput) -> Result<Value, ApiError> {
    let (id, name) = checked_profile(&input)?;
    store.add_profile(id, name)?;
    Ok(json!({ "UserProfileArn": app.arn(Arn::Profile(id, name)) }))
}

fn describe_profile(app: &App, store: &Store, input: ProfileInput) -> Result<Value, ApiError> {
    let (id, name) = checked_profile(&input)?;
    let profile = presign::profile(store, id, name)?;
    Ok(json!({
        "DomainId": id,
        "UserProfileArn": app.arn(Arn::Profile(id, name)),
        "UserProfileName": name,
        "Status": "InService",
        "CreationTime": profile.created,
        "LastModifiedTime": profile.created,
    }))
}

fn create_space(app: &App, store: &mut Store, input: SpaceInput) -> Result<Value, ApiError> {
    let mut checks = Checks::default();
    let (id, name) = (input.domain_id.as_deref(), input.space_name.as_deref());
    let owner = input.ownership_settings.as_ref();
    let owner = owner.and_then(|o| o.owner_user_profile_name.as_deref());
    checks.required("domainId", id);
    checks.pattern("domainId", id, validate::is_domain_id, validate::DOMAIN_ID);
    checks.required("spaceName", name);
    checks.pattern("spaceName", name, validate::is_name, validate::NAME);
    let field = "ownershipSettings.ownerUserProfileName";
    checks.pattern(field, owner, validate::is_name, validate::NAME);
    checks.finish()?;

    let (id, name) = (id.unwrap_or_default(), name.unwrap_or_default());
    let sharing = input.space_sharing_settings.as_ref();
    let sharing = sharing.and_then(|s| s.sharing_type.as_deref());
    store.add_space(id, name, owner, sharing)?;
    Ok(json!({ "SpaceArn": app.arn(Arn::Space(id, name)) }))
}

fn list_profiles(store: &Store, input: ListInput) -> Result<Value, ApiError> {
    let contains = input.user_profile_name_contains.as_deref().unwrap_or("");
    let mut rows = Vec::new();
    for (id, domain) in domains_of(store, &input)? {
        for (name, profile) in &domain.profiles {
            if name.contains(contains) {
                rows.push(json!({
                    "DomainId": id,
                    "UserProfileName": name,
                    "Status": "InService",
                    "CreationTime": profile.created,
                    "LastModifiedTime": profile.created,
                }));
            }
        }
    }
    page(rows, &input, "UserProfiles")
}

fn list_spaces(store: &Store, input: ListInput) -> Result<Value, ApiError> {
    let contains = input.space_name_contains.as_deref().unwrap_or("");
    let mut rows = Vec::new();
    for (id, domain) in domains_of(store, &input)? {
        for (name, space) in &domain.spaces {
            if !name.contains(contains) {
                continue;
            }
            let mut row = json!({
                "DomainId": id,
                "SpaceName": name,
                "Status": "InService",
                "CreationTime": space.created,
                "LastModifiedTime": space.created,
            });
            if let Some(owner) = &space.owner {
                row["OwnershipSettingsSummary"] = json!({ "OwnerUserProfileName": owner });
            }
            if let Some(sharing) = &space.sharing {
                row["SpaceSharingSettingsSummary"] = json!({ "SharingType": sharing });
            }
            rows.push(row);
        }
    }
    page(rows, &input, "Spaces")
}

/// The domains a list covers: one with `DomainIdEquals`, else all. An
/// unknown domain lists nothing, as SageMaker does.
fn domains_of<'a>(
    store: &'a Store,
    input: &ListInput,
) -> Result<Vec<(&'a String, &'a crate::state::Domain)>, ApiError> {
    let mut checks = Checks::default();
    let wanted = input.domain_id_equals.as_deref();
    checks.pattern(
        "domainIdEquals",
        wanted,
        validate::is_domain_id,
        validate::DOMAIN_ID,
    );
    checks.range("maxResults", input.max_results, 1, 100);
    checks.finish()?;
    let all = store.domains.iter();
    Ok(all
        .filter(|(id, _)| wanted.is_none_or(|w| w == id.as_str()))
        .collect())
}

/// One page of `rows`; the token is the offset of the next page.
fn page(rows: Vec<Value>, input: &ListInput, key: &str) -> Result<Value, ApiError> {
    let start = match input.next_token.as_deref() {
        None => 0,
        Some(token) => token
            .parse::<usize>()
            .ok()
            .filter(|&s| s <= rows.len())
            .ok_or_else(|| ApiError::Validation("Invalid pagination token".to_owned()))?,
    };
    let size = input.max_results.and_then(|m| usize::try_from(m).ok());
    let end = rows.len().min(start + size.unwrap_or(10));

    let mut answer = json!({ key: rows[start..end] });
    if end < rows.len() {
        answer["NextToken"] = json!(end.to_string());
    }
    Ok(answer)
}
