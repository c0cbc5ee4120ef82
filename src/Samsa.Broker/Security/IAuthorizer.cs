using System.Net;

namespace Samsa.Broker.Security;

/// <summary>Kafka's ACL <c>PatternType</c> codes: LITERAL and PREFIXED name resources; ANY and MATCH only filter.</summary>
public enum PatternType : byte
{
    Unknown = 0,
    Any = 1,
    Match = 2,
    Literal = 3,
    Prefixed = 4,
}

/// <summary>Kafka's <c>AclPermissionType</c> codes.</summary>
public enum AclPermissionType : byte
{
    Unknown = 0,
    Any = 1,
    Deny = 2,
    Allow = 3,
}

/// <summary>Who asks, from where, on which listener: what an authorization decision is made about (Kafka's <c>AuthorizableRequestContext</c>).</summary>
public sealed record AuthorizationSubject(KafkaPrincipal Principal, IPAddress? ClientAddress, string ListenerName);

/// <summary>
/// Kafka's <c>Authorizer</c>: decides whether a principal may perform an operation on a resource. The broker asks
/// through <see cref="Samsa.Broker.Handlers.RequestContext.Authorize"/> only; with no authorizer configured
/// (<c>authorizer.class.name</c> empty) every request is allowed, as in Kafka.
/// </summary>
public interface IAuthorizer
{
    /// <summary>True when <paramref name="subject"/> may perform <paramref name="operation"/> on the named resource.</summary>
    bool Authorize(AuthorizationSubject subject, AclOperation operation, AclResourceType resourceType, string resourceName);

    /// <summary>
    /// <see cref="Authorize(AuthorizationSubject, AclOperation, AclResourceType, string)"/>, logging a denial only when
    /// <paramref name="logIfDenied"/> (Kafka's <c>Action.logIfDenied</c>: false where a denial only trims an answer,
    /// as in authorized-operations fields).
    /// </summary>
    bool Authorize(AuthorizationSubject subject, AclOperation operation, AclResourceType resourceType, string resourceName, bool logIfDenied) =>
        Authorize(subject, operation, resourceType, resourceName);

    /// <summary>
    /// Kafka's <c>authorizeByResourceType</c>: true when some resource of the type could be allowed for the
    /// operation (an ALLOW binding exists that no DENY of the same or a wider pattern cancels). Used where Kafka
    /// asks "may this principal do X on any Y" (IDEMPOTENT_WRITE through any transactional id or topic write).
    /// </summary>
    bool AuthorizeByResourceType(AuthorizationSubject subject, AclOperation operation, AclResourceType resourceType);
}
