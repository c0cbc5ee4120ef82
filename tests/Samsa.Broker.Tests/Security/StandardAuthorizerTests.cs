using System.Collections.Immutable;
using System.Net;
using Microsoft.Extensions.Logging;
using Samsa.Broker.Security;
using Samsa.Metadata.Image;
using Samsa.Protocol;

namespace Samsa.Broker.Tests.Security;

/// <summary>Kafka's StandardAuthorizer rules, decided over a metadata image holding the bindings.</summary>
public sealed class StandardAuthorizerTests : IDisposable
{
    private static readonly IPAddress Client = IPAddress.Parse("10.0.0.1");
    private readonly MetadataCache _metadata = new(MetadataImage.Empty("acl-cluster"));
    private readonly CapturingLoggerProvider _logs = new();
    private readonly ILoggerFactory _loggerFactory;

    public StandardAuthorizerTests() => _loggerFactory = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Information).AddProvider(_logs));

    public void Dispose() => _loggerFactory.Dispose();

    private StandardAuthorizer Authorizer(string[]? superUsers = null, bool allowEveryone = false) =>
        new(_metadata, superUsers ?? [], allowEveryone, _loggerFactory);

    private void Bind(params StandardAcl[] acls) =>
        _metadata.Publish(_metadata.Current with { Acls = _metadata.Current.Acls.AddRange(acls.Select(a => KeyValuePair.Create(Uuid.Random(), a))) });

    private static StandardAcl Acl(string name, AclOperation operation, PatternType pattern = PatternType.Literal, string principal = "User:alice",
        string host = "*", AclPermissionType permission = AclPermissionType.Allow, AclResourceType type = AclResourceType.Topic) =>
        new((sbyte)type, name, (sbyte)pattern, principal, host, (sbyte)operation, (sbyte)permission);

    private static AuthorizationSubject As(string user, IPAddress? address = null) => new(KafkaPrincipal.User(user), address ?? Client, "PLAINTEXT");

    [Fact]
    public void Literal_AllowsTheNamedResourceOnly()
    {
        Bind(Acl("orders", AclOperation.Read));
        var authorizer = Authorizer();

        Assert.True(authorizer.Authorize(As("alice"), AclOperation.Read, AclResourceType.Topic, "orders"));
        Assert.False(authorizer.Authorize(As("alice"), AclOperation.Read, AclResourceType.Topic, "orders2"));
        Assert.False(authorizer.Authorize(As("alice"), AclOperation.Write, AclResourceType.Topic, "orders"));
        Assert.False(authorizer.Authorize(As("bob"), AclOperation.Read, AclResourceType.Topic, "orders"));
        Assert.False(authorizer.Authorize(As("alice"), AclOperation.Read, AclResourceType.Group, "orders"));
    }

    [Fact]
    public void Prefixed_AllowsEveryNameStartingWithThePrefix()
    {
        Bind(Acl("pay", AclOperation.Write, PatternType.Prefixed), Acl("payments-", AclOperation.Read, PatternType.Prefixed));
        var authorizer = Authorizer();

        Assert.True(authorizer.Authorize(As("alice"), AclOperation.Write, AclResourceType.Topic, "payments-eu"));
        Assert.True(authorizer.Authorize(As("alice"), AclOperation.Read, AclResourceType.Topic, "payments-eu"));
        Assert.True(authorizer.Authorize(As("alice"), AclOperation.Write, AclResourceType.Topic, "pay"));
        Assert.False(authorizer.Authorize(As("alice"), AclOperation.Read, AclResourceType.Topic, "payroll"));
        Assert.False(authorizer.Authorize(As("alice"), AclOperation.Write, AclResourceType.Topic, "pa"));
    }

    [Fact]
    public void WildcardResourceAndPrincipal_MatchEveryone()
    {
        Bind(Acl("*", AclOperation.Read, principal: "User:*"));
        var authorizer = Authorizer();

        Assert.True(authorizer.Authorize(As("anyone"), AclOperation.Read, AclResourceType.Topic, "whatever"));
        Assert.False(authorizer.Authorize(As("anyone"), AclOperation.Write, AclResourceType.Topic, "whatever"));
    }

    [Fact]
    public void Deny_WinsOverAllow_AndIsLoggedInKafkasFormat()
    {
        Bind(Acl("*", AclOperation.All, principal: "User:*"), Acl("secret", AclOperation.Write, PatternType.Prefixed, permission: AclPermissionType.Deny));
        var authorizer = Authorizer();

        Assert.True(authorizer.Authorize(As("alice"), AclOperation.Write, AclResourceType.Topic, "public"));
        Assert.True(authorizer.Authorize(As("alice"), AclOperation.Read, AclResourceType.Topic, "secret-plans"));
        Assert.False(authorizer.Authorize(As("alice"), AclOperation.Write, AclResourceType.Topic, "secret-plans"));

        var denial = Assert.Single(_logs.Lines, l => l.EventId == 960);
        Assert.Equal(LogLevel.Information, denial.Level);
        Assert.Equal("Principal = User:alice is Denied operation = WRITE from host = 10.0.0.1 on resource = Topic:LITERAL:secret-plans", denial.Message);
    }

    [Fact]
    public void Host_MustBeTheClientsAddressOrTheWildcard()
    {
        Bind(Acl("orders", AclOperation.Read, host: "10.0.0.1"));
        var authorizer = Authorizer();

        Assert.True(authorizer.Authorize(As("alice"), AclOperation.Read, AclResourceType.Topic, "orders"));
        Assert.False(authorizer.Authorize(As("alice", IPAddress.Parse("10.0.0.2")), AclOperation.Read, AclResourceType.Topic, "orders"));
        // An IPv4 client seen on a dual-stack socket is still 10.0.0.1.
        Assert.True(authorizer.Authorize(As("alice", Client.MapToIPv6()), AclOperation.Read, AclResourceType.Topic, "orders"));
    }

    [Fact]
    public void SuperUser_IsAllowedEverythingDespiteDeny()
    {
        Bind(Acl("*", AclOperation.All, principal: "User:*", permission: AclPermissionType.Deny));
        var authorizer = Authorizer(superUsers: ["User:admin", "User:ops"]);

        Assert.True(authorizer.Authorize(As("ops"), AclOperation.Alter, AclResourceType.Cluster, "kafka-cluster"));
        Assert.False(authorizer.Authorize(As("alice"), AclOperation.Read, AclResourceType.Topic, "orders"));
    }

    [Fact]
    public void AllowEveryoneIfNoAclFound_AppliesOnlyWhereNoBindingNamesTheResource()
    {
        Bind(Acl("orders", AclOperation.Read, principal: "User:bob"));
        var open = Authorizer(allowEveryone: true);
        var closed = Authorizer();

        Assert.True(open.Authorize(As("alice"), AclOperation.Write, AclResourceType.Topic, "other"));
        Assert.False(closed.Authorize(As("alice"), AclOperation.Write, AclResourceType.Topic, "other"));
        // bob's binding applies to "orders", so alice is denied there even with allow.everyone.if.no.acl.found.
        Assert.False(open.Authorize(As("alice"), AclOperation.Read, AclResourceType.Topic, "orders"));
    }

    [Fact]
    public void ImpliedOperations_DescribeFromReadWriteDeleteAlter_DescribeConfigsFromAlterConfigs_AllowOnly()
    {
        Bind(Acl("r", AclOperation.Read), Acl("w", AclOperation.Write), Acl("d", AclOperation.Delete), Acl("a", AclOperation.Alter),
            Acl("c", AclOperation.Create), Acl("ac", AclOperation.AlterConfigs),
            Acl("x", AclOperation.Describe), Acl("x", AclOperation.Read, permission: AclPermissionType.Deny));
        var authorizer = Authorizer();

        foreach (var name in new[] { "r", "w", "d", "a" })
        {
            Assert.True(authorizer.Authorize(As("alice"), AclOperation.Describe, AclResourceType.Topic, name), name);
        }
        Assert.False(authorizer.Authorize(As("alice"), AclOperation.Describe, AclResourceType.Topic, "c"));
        Assert.True(authorizer.Authorize(As("alice"), AclOperation.DescribeConfigs, AclResourceType.Topic, "ac"));
        Assert.False(authorizer.Authorize(As("alice"), AclOperation.Read, AclResourceType.Topic, "ac"));
        // A DENY of READ does not imply a DENY of DESCRIBE.
        Assert.True(authorizer.Authorize(As("alice"), AclOperation.Describe, AclResourceType.Topic, "x"));
    }

    [Fact]
    public void AuthorizeByResourceType_AllowedUnlessEveryAllowIsCancelledByADeny()
    {
        var authorizer = Authorizer();
        Assert.False(authorizer.AuthorizeByResourceType(As("alice"), AclOperation.Write, AclResourceType.TransactionalId));

        Bind(Acl("txn-", AclOperation.Write, PatternType.Prefixed, type: AclResourceType.TransactionalId));
        Assert.True(authorizer.AuthorizeByResourceType(As("alice"), AclOperation.Write, AclResourceType.TransactionalId));
        Assert.False(authorizer.AuthorizeByResourceType(As("bob"), AclOperation.Write, AclResourceType.TransactionalId));

        Bind(Acl("tx", AclOperation.Write, PatternType.Prefixed, permission: AclPermissionType.Deny, type: AclResourceType.TransactionalId));
        Assert.False(authorizer.AuthorizeByResourceType(As("alice"), AclOperation.Write, AclResourceType.TransactionalId));

        Bind(Acl("orders", AclOperation.All, type: AclResourceType.TransactionalId));
        Assert.True(authorizer.AuthorizeByResourceType(As("alice"), AclOperation.Write, AclResourceType.TransactionalId));

        Bind(Acl("*", AclOperation.Write, permission: AclPermissionType.Deny, type: AclResourceType.TransactionalId));
        Assert.False(authorizer.AuthorizeByResourceType(As("alice"), AclOperation.Write, AclResourceType.TransactionalId));
        Assert.True(Authorizer(superUsers: ["User:alice"]).AuthorizeByResourceType(As("alice"), AclOperation.Write, AclResourceType.TransactionalId));
    }

    [Fact]
    public void NewBindings_AreSeenOnTheNextDecision()
    {
        var authorizer = Authorizer();
        Assert.False(authorizer.Authorize(As("alice"), AclOperation.Read, AclResourceType.Group, "g"));
        Bind(Acl("g", AclOperation.Read, type: AclResourceType.Group));
        Assert.True(authorizer.Authorize(As("alice"), AclOperation.Read, AclResourceType.Group, "g"));
        _metadata.Publish(_metadata.Current with { Acls = ImmutableDictionary<Uuid, StandardAcl>.Empty });
        Assert.False(authorizer.Authorize(As("alice"), AclOperation.Read, AclResourceType.Group, "g"));
    }
}
