//! Why no documents could be written: each message names the flag or the
//! config key, the value, and what would be valid.

/// Why no documents could be written.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "--broker-role-arn \"{0}\": must be an IAM role ARN such as \
         \"arn:aws:iam::123456789012:role/studio-broker\" or \
         \"arn:aws:iam::123456789012:role/service/studio-broker\" \
         (partition aws, aws-cn or aws-us-gov; not an assumed-role session)"
    )]
    BrokerRoleArn(String),
    #[error(
        "--source-vpce \"{0}\": must be a VPC endpoint id: \"vpce-\" and 8 \
         to 17 lower-case hex digits, such as \"vpce-0a1b2c3d4e5f67890\""
    )]
    SourceVpce(String),
    #[error(
        "--source-ip \"{0}\": must be an IP address or a CIDR such as \
         \"203.0.113.0/24\""
    )]
    SourceIp(String),
    #[error(
        "--kind \"{0}\": must be one of broker-role, deny-others, \
         per-user"
    )]
    UnknownKind(String),
    #[error(
        "{key} = \"{value}\": must be an IAM role ARN such as \
         \"arn:aws:iam::123456789012:role/studio-broker\" (partition aws, \
         aws-cn or aws-us-gov)"
    )]
    DomainRoleArn { key: String, value: String },
    #[error(
        "{key}: region {region} is in partition {partition}, but role \
         {role} is not: a role can call SageMaker only in its own partition"
    )]
    Partition {
        key: String,
        region: String,
        partition: String,
        role: String,
    },
    #[error(
        "{key}: role {role} is not in the domain's account {account}: the \
         role that serves a domain must be in the domain's account"
    )]
    RoleAccount {
        key: String,
        account: String,
        role: String,
    },
    #[error(
        "{key} = \"{account}\": the broker role {role} is in another \
         account and can open profiles only in its own: set \
         assume_role_arn to a role in account {account}"
    )]
    ForeignAccount {
        key: String,
        account: String,
        role: String,
    },
    #[error(
        "{key} = \"{role}\": account {account} is already served by \
         {other} (domains {other_domain}); give every domain of one account \
         the same assume_role_arn"
    )]
    ConflictingRoles {
        key: String,
        account: String,
        role: String,
        other: String,
        other_domain: String,
    },
    #[error(
        "role {role}: with studio.source_identity the minting role is named \
         <role name>-mint, which must fit IAM's 64 characters: use a role \
         name of at most {max} characters"
    )]
    MintingRoleName { role: String, max: usize },
}
