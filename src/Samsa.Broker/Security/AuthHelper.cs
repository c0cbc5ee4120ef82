namespace Samsa.Broker.Security;

/// <summary>Kafka's <c>AclOperation</c> codes, as the protocol carries them in authorized-operations bit fields.</summary>
public enum AclOperation : byte
{
    Unknown = 0,
    Any = 1,
    All = 2,
    Read = 3,
    Write = 4,
    Create = 5,
    Delete = 6,
    Alter = 7,
    Describe = 8,
    ClusterAction = 9,
    DescribeConfigs = 10,
    AlterConfigs = 11,
    IdempotentWrite = 12,
    CreateTokens = 13,
    DescribeTokens = 14,
}

/// <summary>Kafka's ACL <c>ResourceType</c> codes (not the config resource types of DescribeConfigs).</summary>
public enum AclResourceType : byte
{
    Unknown = 0,
    Any = 1,
    Topic = 2,
    Group = 3,
    Cluster = 4,
    TransactionalId = 5,
    DelegationToken = 6,
    User = 7,
}

/// <summary>
/// Kafka's <c>AuthHelper.authorizedOperations</c>: the <c>*_authorized_operations</c> bit field of Metadata,
/// DescribeCluster, DescribeTopicPartitions, DescribeGroups and ConsumerGroupDescribe. With no authorizer configured
/// (Samsa has none until issue 17) Kafka answers every operation the resource type supports
/// (<c>AclEntry.supportedOperations</c>); the authorizer, when it lands, filters this set per principal here.
/// </summary>
public static class AuthHelper
{
    /// <summary>Kafka's "not requested" value for every authorized-operations field (<c>Integer.MIN_VALUE</c>).</summary>
    public const int NotRequested = int.MinValue;

    /// <summary>Kafka's <c>AclEntry.supportedOperations</c> per resource type.</summary>
    public static IReadOnlyList<AclOperation> SupportedOperations(AclResourceType resourceType) => resourceType switch
    {
        AclResourceType.Topic => [AclOperation.Read, AclOperation.Write, AclOperation.Create, AclOperation.Describe, AclOperation.Delete,
            AclOperation.Alter, AclOperation.DescribeConfigs, AclOperation.AlterConfigs],
        AclResourceType.Group => [AclOperation.Read, AclOperation.Describe, AclOperation.Delete],
        AclResourceType.Cluster => [AclOperation.Create, AclOperation.ClusterAction, AclOperation.DescribeConfigs, AclOperation.AlterConfigs,
            AclOperation.IdempotentWrite, AclOperation.Alter, AclOperation.Describe],
        AclResourceType.TransactionalId => [AclOperation.Describe, AclOperation.Write],
        AclResourceType.DelegationToken => [AclOperation.Describe],
        AclResourceType.User => [AclOperation.CreateTokens, AclOperation.DescribeTokens],
        _ => [],
    };

    /// <summary>The bit field (bit n set for operation code n, Kafka's <c>Utils.to32BitField</c>) of what the requester may do.</summary>
    public static int AuthorizedOperations(AclResourceType resourceType)
    {
        var field = 0;
        foreach (var operation in SupportedOperations(resourceType))
        {
            field |= 1 << (int)operation;
        }
        return field;
    }

    /// <summary>
    /// Kafka's <c>authorizedOperations(request, resource)</c>: the supported operations the requester may perform on the
    /// named resource. With no authorizer every supported operation, without asking the gate.
    /// </summary>
    public static int AuthorizedOperations(Handlers.RequestContext context, AclResourceType resourceType, string name)
    {
        if (!context.HasAuthorizer)
        {
            return AuthorizedOperations(resourceType);
        }
        var field = 0;
        foreach (var operation in SupportedOperations(resourceType))
        {
            if (context.Authorize(operation, resourceType, name))
            {
                field |= 1 << (int)operation;
            }
        }
        return field;
    }

    /// <summary><see cref="AuthorizedOperations(AclResourceType)"/> when the request asked for it, else <see cref="NotRequested"/>.</summary>
    public static int AuthorizedOperationsIf(bool requested, AclResourceType resourceType) =>
        requested ? AuthorizedOperations(resourceType) : NotRequested;
}
