using Samsa.Metadata.Image;
using Samsa.Metadata.Log;
using Samsa.Protocol;
using Samsa.Protocol.Messages;
using Samsa.Protocol.MetadataRecords;

namespace Samsa.Metadata.Controller;

/// <summary>
/// ACL bindings as metadata (Kafka's <c>AclControlManager</c>, KIP-801): CreateAcls becomes one
/// <see cref="AccessControlEntryRecord"/> per new binding under a fresh random id, DeleteAcls one
/// <see cref="RemoveAccessControlEntryRecord"/> per binding some filter matches. A binding equal to one that exists
/// is a successful no-op, so creating the same ACL twice leaves one. The checks of Kafka's broker
/// (<c>AclApis</c>: the CLUSTER name, an empty name) and of its controller (<c>validateNewAcl</c>) are made here
/// together, in Kafka's order, with Kafka's messages.
/// </summary>
public static class AclControlManager
{
    /// <summary>Kafka's <c>Resource.CLUSTER_NAME</c>, the one name a CLUSTER binding may have.</summary>
    public const string ClusterName = "kafka-cluster";

    private const sbyte ClusterResourceType = 4;
    private const sbyte LiteralPattern = 3;
    private const sbyte PrefixedPattern = 4;

    public static ControllerResult<CreateAclsResponse> CreateAcls(MetadataImage image, CreateAclsRequest request)
    {
        var existing = image.Acls.Values.ToHashSet();
        var records = new List<MetadataRecord>();
        var response = new CreateAclsResponse();
        foreach (var creation in request.Creations)
        {
            var acl = new StandardAcl(creation.ResourceType, creation.ResourceName, creation.ResourcePatternType,
                creation.Principal, creation.Host, creation.Operation, creation.PermissionType);
            if (Validate(acl) is { } message)
            {
                response.Results.Add(new CreateAclsResponse.AclCreationResult { ErrorCode = (short)ErrorCode.InvalidRequest, ErrorMessage = message });
                continue;
            }
            // The set also catches a binding repeated within this request: one record, two successes.
            if (existing.Add(acl))
            {
                records.Add(MetadataRecord.Of(acl.ToRecord(NewAclId(image))));
            }
            response.Results.Add(new CreateAclsResponse.AclCreationResult { ErrorCode = 0, ErrorMessage = null });
        }
        return new ControllerResult<CreateAclsResponse>(records, response);
    }

    /// <summary>Every binding each filter matches is removed and listed in that filter's result; a binding several filters match is removed once.</summary>
    public static ControllerResult<DeleteAclsResponse> DeleteAcls(MetadataImage image, DeleteAclsRequest request)
    {
        var removed = new HashSet<Uuid>();
        var records = new List<MetadataRecord>();
        var response = new DeleteAclsResponse();
        foreach (var wire in request.Filters)
        {
            var filter = new AclBindingFilter(wire.ResourceTypeFilter, wire.ResourceNameFilter, wire.PatternTypeFilter,
                wire.PrincipalFilter, wire.HostFilter, wire.Operation, wire.PermissionType);
            var result = new DeleteAclsResponse.DeleteAclsFilterResult { ErrorMessage = null };
            // Kafka's validateFilter.
            if (filter.IsPatternUnknown || filter.IsEntryUnknown)
            {
                result.ErrorCode = (short)ErrorCode.InvalidRequest;
                result.ErrorMessage = filter.IsPatternUnknown ? "Unknown patternFilter." : "Unknown entryFilter.";
                response.FilterResults.Add(result);
                continue;
            }
            foreach (var (id, acl) in image.Acls)
            {
                if (!filter.Matches(acl))
                {
                    continue;
                }
                result.MatchingAcls.Add(new DeleteAclsResponse.DeleteAclsMatchingAcl
                {
                    ErrorMessage = null,
                    ResourceType = acl.ResourceType,
                    ResourceName = acl.ResourceName,
                    PatternType = acl.PatternType,
                    Principal = acl.Principal,
                    Host = acl.Host,
                    Operation = acl.Operation,
                    PermissionType = acl.PermissionType,
                });
                if (removed.Add(id))
                {
                    records.Add(MetadataRecord.Of(new RemoveAccessControlEntryRecord { Id = id }));
                }
            }
            response.FilterResults.Add(result);
        }
        return new ControllerResult<DeleteAclsResponse>(records, response);
    }

    /// <summary>The INVALID_REQUEST message for a binding that may not be created, or null (Kafka's <c>AclApis</c> then <c>validateNewAcl</c>).</summary>
    public static string? Validate(StandardAcl acl)
    {
        if (acl.ResourceType == ClusterResourceType && acl.ResourceName != ClusterName)
        {
            return $"The only valid name for the CLUSTER resource is {ClusterName}";
        }
        if (acl.ResourceName.Length == 0)
        {
            return "Invalid empty resource name";
        }
        if (acl.PatternType is not LiteralPattern and not PrefixedPattern)
        {
            return $"Invalid patternType {FilterOnlyName(acl.PatternType, hasMatch: true)}";
        }
        if (acl.ResourceType is 0 or 1 or > 7)
        {
            return $"Invalid resourceType {FilterOnlyName(acl.ResourceType, hasMatch: false)}";
        }
        if (acl.Operation is 0 or 1 or > 14)
        {
            return $"Invalid operation {FilterOnlyName(acl.Operation, hasMatch: false)}";
        }
        if (acl.PermissionType is 0 or 1 or > 3)
        {
            return $"Invalid permissionType {FilterOnlyName(acl.PermissionType, hasMatch: false)}";
        }
        if (!acl.Principal.Contains(':', StringComparison.Ordinal))
        {
            return $"Could not parse principal from `{acl.Principal}` (no colon is present separating the principal type from the principal name)";
        }
        return null;
    }

    /// <summary>The name Kafka prints for a code a binding may not carry: ANY (1), MATCH (2, pattern types only), else UNKNOWN.</summary>
    private static string FilterOnlyName(sbyte code, bool hasMatch) => code switch
    {
        1 => "ANY",
        2 when hasMatch => "MATCH",
        _ => "UNKNOWN",
    };

    /// <summary>Kafka's <c>newAclId</c>: random, and never one already in use.</summary>
    private static Uuid NewAclId(MetadataImage image)
    {
        while (true)
        {
            var id = Uuid.Random();
            if (!image.Acls.ContainsKey(id))
            {
                return id;
            }
        }
    }
}
