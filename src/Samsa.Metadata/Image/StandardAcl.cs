using Samsa.Protocol;
using Samsa.Protocol.MetadataRecords;

namespace Samsa.Metadata.Image;

/// <summary>
/// One ACL binding as the metadata log holds it (Kafka's <c>StandardAcl</c>): a resource pattern (type, name,
/// LITERAL or PREFIXED) and an entry (principal <c>Type:Name</c>, host, operation, ALLOW or DENY). The codes are
/// Kafka's <c>ResourceType</c>, <c>PatternType</c>, <c>AclOperation</c> and <c>AclPermissionType</c> codes, kept as
/// the record carries them: the enums that name them live in the broker's security room, above this layer.
/// </summary>
public sealed record StandardAcl(
    sbyte ResourceType,
    string ResourceName,
    sbyte PatternType,
    string Principal,
    string Host,
    sbyte Operation,
    sbyte PermissionType)
{
    /// <summary>The literal resource name that matches every resource of its type (Kafka's <c>WILDCARD_RESOURCE</c>).</summary>
    public const string WildcardResource = "*";

    /// <summary>The host that matches every client address.</summary>
    public const string WildcardHost = "*";

    /// <summary>The principal that matches every principal.</summary>
    public const string WildcardPrincipal = "User:*";

    public static StandardAcl FromRecord(AccessControlEntryRecord record) => new(
        record.ResourceType, record.ResourceName, record.PatternType, record.Principal, record.Host, record.Operation, record.PermissionType);

    public AccessControlEntryRecord ToRecord(Uuid id) => new()
    {
        Id = id,
        ResourceType = ResourceType,
        ResourceName = ResourceName,
        PatternType = PatternType,
        Principal = Principal,
        Host = Host,
        Operation = Operation,
        PermissionType = PermissionType,
    };
}

/// <summary>
/// Kafka's <c>AclBindingFilter</c> (a <c>ResourcePatternFilter</c> and an <c>AccessControlEntryFilter</c>), as
/// DescribeAcls and DeleteAcls carry it: code 1 (ANY) in a type, operation or permission matches every value; a
/// null name, principal or host matches every one. Pattern type ANY matches the name exactly under any pattern
/// type; MATCH matches every binding that applies to the named resource: the literal name, the literal wildcard
/// <c>*</c> and every prefix of it.
/// </summary>
public sealed record AclBindingFilter(
    sbyte ResourceType,
    string? ResourceName,
    sbyte PatternType,
    string? Principal,
    string? Host,
    sbyte Operation,
    sbyte PermissionType)
{
    // The codes every one of Kafka's ACL enums shares for these values, and PatternType's own.
    private const sbyte Unknown = 0;
    private const sbyte Any = 1;
    private const sbyte Match = 2;
    private const sbyte Literal = 3;
    private const sbyte Prefixed = 4;

    // Codes above each enum's highest (USER = 7, DESCRIBE_TOKENS = 14, ALLOW = 3) read as UNKNOWN, as Kafka's fromCode.

    /// <summary>Kafka's <c>ResourcePatternFilter.isUnknown</c>: an UNKNOWN resource or pattern type.</summary>
    public bool IsPatternUnknown => ResourceType is Unknown or > 7 || PatternType is Unknown or > Prefixed;

    /// <summary>Kafka's <c>AccessControlEntryFilter.isUnknown</c>: an UNKNOWN operation or permission type.</summary>
    public bool IsEntryUnknown => Operation is Unknown or > 14 || PermissionType is Unknown or > 3;

    public bool Matches(StandardAcl acl) => MatchesPattern(acl) && MatchesEntry(acl);

    /// <summary>Kafka's <c>ResourcePatternFilter.matches</c>.</summary>
    private bool MatchesPattern(StandardAcl acl)
    {
        if (ResourceType != Any && ResourceType != acl.ResourceType)
        {
            return false;
        }
        if (PatternType is not Any and not Match && PatternType != acl.PatternType)
        {
            return false;
        }
        if (ResourceName is null)
        {
            return true;
        }
        if (PatternType == Any || PatternType == acl.PatternType)
        {
            return ResourceName == acl.ResourceName;
        }
        return acl.PatternType switch
        {
            Literal => ResourceName == acl.ResourceName || acl.ResourceName == StandardAcl.WildcardResource,
            Prefixed => ResourceName.StartsWith(acl.ResourceName, StringComparison.Ordinal),
            _ => false,
        };
    }

    /// <summary>Kafka's <c>AccessControlEntryFilter.matches</c>.</summary>
    private bool MatchesEntry(StandardAcl acl) =>
        (Principal is null || Principal == acl.Principal)
        && (Host is null || Host == acl.Host)
        && (Operation == Any || Operation == acl.Operation)
        && (PermissionType == Any || PermissionType == acl.PermissionType);
}
