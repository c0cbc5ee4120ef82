using System.Collections.Immutable;
using System.Net;
using Microsoft.Extensions.Logging;
using Samsa.Broker.Config;
using Samsa.Metadata.Image;
using Samsa.Protocol;

namespace Samsa.Broker.Security;

/// <summary>
/// Kafka's <c>StandardAuthorizer</c> (KIP-801): decides from the ACL bindings of the current metadata image.
/// <list type="number">
/// <item>A principal listed in <c>super.users</c> may do everything.</item>
/// <item>The bindings that apply to a resource are those of its type with the LITERAL name, the LITERAL wildcard
/// <c>*</c>, or a PREFIXED name the resource name starts with. Of those, a binding matches the request when its
/// principal is the requester's or <c>User:*</c>, its host is the client's address or <c>*</c>, and its operation
/// is the one asked, ALL, or (for ALLOW only) one that implies it: READ, WRITE, DELETE and ALTER imply DESCRIBE,
/// ALTER_CONFIGS implies DESCRIBE_CONFIGS.</item>
/// <item>A matching DENY wins over every ALLOW; a matching ALLOW allows; bindings that apply but do not match
/// deny. Only a resource no binding applies to at all, whoever it names, gets <c>allow.everyone.if.no.acl.found</c>.</item>
/// </list>
/// The bindings are indexed once per image (by resource type, then literal name or prefix), so a decision looks
/// up the few lists that can apply instead of scanning every ACL. Denials are logged at Info on
/// <c>Samsa.Authorizer</c>, Kafka's <c>kafka.authorizer.logger</c>.
/// </summary>
public sealed class StandardAuthorizer : IAuthorizer
{
    /// <summary>The <c>authorizer.class.name</c> that turns it on, as in Kafka.</summary>
    public const string ClassName = "org.apache.kafka.metadata.authorizer.StandardAuthorizer";

    /// <summary>Kafka's name for the resource whose decision stands for "some resource of the type" (no binding names it).</summary>
    private const string ResourceTypeProbe = "hardcode";

    private readonly MetadataCache _metadata;
    private readonly HashSet<string> _superUsers;
    private readonly bool _allowEveryoneIfNoAclFound;
    private readonly ILogger _logger;
    private AclIndex? _index;

    public StandardAuthorizer(MetadataCache metadata, IEnumerable<string> superUsers, bool allowEveryoneIfNoAclFound, ILoggerFactory loggerFactory)
    {
        _metadata = metadata;
        _superUsers = new HashSet<string>(superUsers, StringComparer.Ordinal);
        _allowEveryoneIfNoAclFound = allowEveryoneIfNoAclFound;
        _logger = loggerFactory.CreateLogger("Samsa.Authorizer");
    }

    /// <summary>
    /// The authorizer <c>authorizer.class.name</c> names: null when empty (every request allowed), this one for
    /// Kafka's StandardAuthorizer; any other class fails start-up, as Kafka fails to load it.
    /// </summary>
    public static IAuthorizer? FromConfig(KafkaConfig config, MetadataCache metadata, ILoggerFactory loggerFactory)
    {
        if (!IsConfigured(config))
        {
            return null;
        }
        // Kafka splits super.users on ';' and compares each with the principal's Type:Name text.
        var superUsers = (config.GetString("super.users") ?? "").Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        return new StandardAuthorizer(metadata, superUsers, config.GetBool("allow.everyone.if.no.acl.found"), loggerFactory);
    }

    /// <summary>Whether <c>authorizer.class.name</c> turns this authorizer on; a class other than Kafka's StandardAuthorizer is a <see cref="ConfigException"/>.</summary>
    public static bool IsConfigured(KafkaConfig config)
    {
        var className = config.GetString("authorizer.class.name")?.Trim();
        if (string.IsNullOrEmpty(className))
        {
            return false;
        }
        return className == ClassName
            ? true
            : throw new ConfigException($"Invalid value {className} for configuration authorizer.class.name: Class {className} cannot be found (Samsa supports {ClassName})");
    }

    public bool Authorize(AuthorizationSubject subject, AclOperation operation, AclResourceType resourceType, string resourceName) =>
        Decide(subject, operation, resourceType, resourceName, logDenial: true);

    public bool Authorize(AuthorizationSubject subject, AclOperation operation, AclResourceType resourceType, string resourceName, bool logIfDenied) =>
        Decide(subject, operation, resourceType, resourceName, logIfDenied);

    /// <summary>
    /// Kafka's <c>authorizeByResourceType</c>: allowed when the probe resource is (a super user, or no binding applies
    /// with allow.everyone), or when some ALLOW for the requester on a resource of the type is not cancelled by a
    /// DENY of the same literal name or of a prefix of it; a DENY on the literal wildcard cancels all.
    /// </summary>
    public bool AuthorizeByResourceType(AuthorizationSubject subject, AclOperation operation, AclResourceType resourceType)
    {
        if (operation is AclOperation.Any or AclOperation.Unknown || resourceType is AclResourceType.Any or AclResourceType.Unknown)
        {
            throw new ArgumentException($"Must specify a non-filter operation and resource type, not {operation} on {resourceType}");
        }
        if (Decide(subject, operation, resourceType, ResourceTypeProbe, logDenial: false))
        {
            return true;
        }
        if (!Index().ByType.TryGetValue(resourceType, out var acls))
        {
            return false;
        }
        var principal = subject.Principal.ToString();
        var host = HostOf(subject.ClientAddress);
        var deniedLiterals = new HashSet<string>(StringComparer.Ordinal);
        var deniedPrefixes = new HashSet<string>(StringComparer.Ordinal);
        var allowed = new List<Binding>();
        foreach (var acl in acls.All)
        {
            if (!acl.MatchesRequester(principal, host) || (acl.Operation != operation && acl.Operation != AclOperation.All))
            {
                continue;
            }
            if (acl.Permission == AclPermissionType.Deny)
            {
                if (acl.Pattern == PatternType.Literal && acl.ResourceName == StandardAcl.WildcardResource)
                {
                    return false;
                }
                (acl.Pattern == PatternType.Literal ? deniedLiterals : deniedPrefixes).Add(acl.ResourceName);
            }
            else if (acl.ResourceName == StandardAcl.WildcardResource)
            {
                return true;
            }
            else
            {
                allowed.Add(acl);
            }
        }
        foreach (var allow in allowed)
        {
            if (allow.Pattern == PatternType.Literal && deniedLiterals.Contains(allow.ResourceName))
            {
                continue;
            }
            var dominated = false;
            for (var length = 1; length <= allow.ResourceName.Length && !dominated; length++)
            {
                dominated = deniedPrefixes.Contains(allow.ResourceName[..length]);
            }
            if (!dominated)
            {
                return true;
            }
        }
        return false;
    }

    private bool Decide(AuthorizationSubject subject, AclOperation operation, AclResourceType resourceType, string resourceName, bool logDenial)
    {
        var principal = subject.Principal.ToString();
        if (_superUsers.Contains(principal))
        {
            return true;
        }
        var host = HostOf(subject.ClientAddress);
        var allowed = Index().Find(principal, host, operation, resourceType, resourceName) switch
        {
            Outcome.Allowed => true,
            Outcome.Denied => false,
            _ => _allowEveryoneIfNoAclFound,
        };
        if (!allowed && logDenial)
        {
            AuthorizerLog.Denied(_logger, principal, AclNames.Constant(operation), host, AclNames.Resource(resourceType, resourceName));
        }
        else if (allowed && _logger.IsEnabled(LogLevel.Debug))
        {
            AuthorizerLog.Allowed(_logger, principal, AclNames.Constant(operation), host, AclNames.Resource(resourceType, resourceName));
        }
        return allowed;
    }

    /// <summary>The index of the current image's bindings, built on the first decision after they change.</summary>
    private AclIndex Index()
    {
        var acls = _metadata.Current.Acls;
        var index = Volatile.Read(ref _index);
        if (index is null || !ReferenceEquals(index.Source, acls))
        {
            // Two threads may both build it for a new image; either result is right.
            index = new AclIndex(acls);
            Volatile.Write(ref _index, index);
        }
        return index;
    }

    /// <summary>The client address as Kafka's <c>getHostAddress</c> prints it (an IPv4 client on a dual-stack socket as IPv4).</summary>
    private static string HostOf(IPAddress? address) =>
        address is null ? "" : (address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address).ToString();

    private enum Outcome
    {
        NoAclFound,
        Allowed,
        Denied,
    }

    /// <summary>One binding with its codes as the broker's enums.</summary>
    private sealed record Binding(string ResourceName, PatternType Pattern, string Principal, string Host, AclOperation Operation, AclPermissionType Permission)
    {
        public bool MatchesRequester(string principal, string host) =>
            (Principal == principal || Principal == StandardAcl.WildcardPrincipal) && (Host == StandardAcl.WildcardHost || Host == host);

        /// <summary>Kafka's <c>StandardAuthorizerData.findResult</c> without the requester checks: the operation rule.</summary>
        public bool MatchesOperation(AclOperation requested) =>
            Operation == AclOperation.All || Operation == requested
            || (Permission == AclPermissionType.Allow && requested switch
            {
                AclOperation.Describe => Operation is AclOperation.Read or AclOperation.Write or AclOperation.Delete or AclOperation.Alter,
                AclOperation.DescribeConfigs => Operation is AclOperation.AlterConfigs,
                _ => false,
            });
    }

    /// <summary>The bindings of one resource type: every one, and by literal name and by prefix.</summary>
    private sealed class TypeAcls
    {
        public List<Binding> All { get; } = [];

        public Dictionary<string, List<Binding>> Literal { get; } = new(StringComparer.Ordinal);

        public Dictionary<string, List<Binding>> Prefixed { get; } = new(StringComparer.Ordinal);

        /// <summary>The lengths of the prefixes bound, so a lookup tries only those.</summary>
        public int[] PrefixLengths { get; set; } = [];
    }

    private sealed class AclIndex
    {
        public AclIndex(ImmutableDictionary<Uuid, StandardAcl> acls)
        {
            Source = acls;
            foreach (var acl in acls.Values)
            {
                var type = (AclResourceType)acl.ResourceType;
                if (!ByType.TryGetValue(type, out var typeAcls))
                {
                    ByType[type] = typeAcls = new TypeAcls();
                }
                var binding = new Binding(acl.ResourceName, (PatternType)acl.PatternType, acl.Principal, acl.Host,
                    (AclOperation)acl.Operation, (AclPermissionType)acl.PermissionType);
                typeAcls.All.Add(binding);
                var byName = binding.Pattern == PatternType.Prefixed ? typeAcls.Prefixed : typeAcls.Literal;
                if (!byName.TryGetValue(acl.ResourceName, out var list))
                {
                    byName[acl.ResourceName] = list = [];
                }
                list.Add(binding);
            }
            foreach (var typeAcls in ByType.Values)
            {
                typeAcls.PrefixLengths = [.. typeAcls.Prefixed.Keys.Select(k => k.Length).Distinct().Order()];
            }
        }

        public ImmutableDictionary<Uuid, StandardAcl> Source { get; }

        public Dictionary<AclResourceType, TypeAcls> ByType { get; } = [];

        public Outcome Find(string principal, string host, AclOperation operation, AclResourceType resourceType, string resourceName)
        {
            if (!ByType.TryGetValue(resourceType, out var acls))
            {
                return Outcome.NoAclFound;
            }
            var found = new Found();
            if (acls.Literal.TryGetValue(resourceName, out var exact) && found.Check(exact, principal, host, operation)
                || acls.Literal.TryGetValue(StandardAcl.WildcardResource, out var wildcard) && found.Check(wildcard, principal, host, operation))
            {
                return Outcome.Denied;
            }
            var prefixes = acls.Prefixed.GetAlternateLookup<ReadOnlySpan<char>>();
            foreach (var length in acls.PrefixLengths)
            {
                if (length > resourceName.Length)
                {
                    break;
                }
                if (prefixes.TryGetValue(resourceName.AsSpan(0, length), out var prefixed) && found.Check(prefixed, principal, host, operation))
                {
                    return Outcome.Denied;
                }
            }
            return found.Allowed ? Outcome.Allowed : found.AnyApplies ? Outcome.Denied : Outcome.NoAclFound;
        }
    }

    /// <summary>What the bindings seen so far say (Kafka's <c>MatchingAclBuilder</c>).</summary>
    private struct Found
    {
        public bool AnyApplies { readonly get; private set; }

        public bool Allowed { readonly get; private set; }

        /// <summary>Notes the bindings that apply; true as soon as one matching DENY settles the decision.</summary>
        public bool Check(List<Binding> bindings, string principal, string host, AclOperation operation)
        {
            foreach (var binding in bindings)
            {
                AnyApplies = true;
                if (!binding.MatchesRequester(principal, host) || !binding.MatchesOperation(operation))
                {
                    continue;
                }
                if (binding.Permission == AclPermissionType.Deny)
                {
                    return true;
                }
                Allowed = true;
            }
            return false;
        }
    }
}

/// <summary>Authorizer log lines (Kafka's audit log format); event ids 960-969 are stable.</summary>
internal static partial class AuthorizerLog
{
    [LoggerMessage(EventId = 960, Level = LogLevel.Information, Message = "Principal = {Principal} is Denied operation = {Operation} from host = {Host} on resource = {Resource}")]
    public static partial void Denied(ILogger logger, string principal, string operation, string host, string resource);

    [LoggerMessage(EventId = 961, Level = LogLevel.Debug, Message = "Principal = {Principal} is Allowed operation = {Operation} from host = {Host} on resource = {Resource}")]
    public static partial void Allowed(ILogger logger, string principal, string operation, string host, string resource);
}
