using Samsa.Broker.Security;
using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Broker.Tests.Security;

/// <summary>CreateAcls, DescribeAcls and DeleteAcls over a real socket, and kafka-acls.sh (<c>samsa acls</c>) against a broker.</summary>
public sealed class AclsTests
{
    // The test client connects as User:ANONYMOUS over PLAINTEXT; a super user may manage ACLs.
    private static readonly (string, string)[] WithAuthorizer =
    [
        ("authorizer.class.name", StandardAuthorizer.ClassName),
        ("super.users", "User:ANONYMOUS"),
    ];

    private static CreateAclsRequest.AclCreation ReadFor(string principal, string topic) => new()
    {
        ResourceType = (sbyte)AclResourceType.Topic,
        ResourceName = topic,
        ResourcePatternType = (sbyte)PatternType.Literal,
        Principal = principal,
        Host = "*",
        Operation = (sbyte)AclOperation.Read,
        PermissionType = (sbyte)AclPermissionType.Allow,
    };

    private static DescribeAclsRequest DescribeAll() => new()
    {
        ResourceTypeFilter = (sbyte)AclResourceType.Any,
        ResourceNameFilter = null,
        PatternTypeFilter = (sbyte)PatternType.Any,
        PrincipalFilter = null,
        HostFilter = null,
        Operation = (sbyte)AclOperation.Any,
        PermissionType = (sbyte)AclPermissionType.Any,
    };

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public async Task CreateDescribeDelete_OverTheWire_ChangeTheBindingsTheAuthorizerSees(short version)
    {
        await using var broker = await TestBroker.StartAsync(WithAuthorizer);
        await using var client = await broker.ConnectAsync();

        var (_, created) = await client.RequestAsync<CreateAclsResponse>(new CreateAclsRequest { Creations = [ReadFor("User:alice", "orders"), ReadFor("alice", "orders")] }, version);
        Assert.Equal(0, created.Results[0].ErrorCode);
        Assert.Equal((short)ErrorCode.InvalidRequest, created.Results[1].ErrorCode);

        var authorizer = broker.Broker.Dispatcher.Authorizer!;
        var alice = new AuthorizationSubject(KafkaPrincipal.User("alice"), System.Net.IPAddress.Loopback, "PLAINTEXT");
        Assert.True(authorizer.Authorize(alice, AclOperation.Read, AclResourceType.Topic, "orders"));

        var (_, described) = await client.RequestAsync<DescribeAclsResponse>(DescribeAll(), version, correlationId: 2);
        Assert.Equal(0, described.ErrorCode);
        var resource = Assert.Single(described.Resources);
        Assert.Equal(("orders", (sbyte)PatternType.Literal), (resource.ResourceName, resource.PatternType));
        var acl = Assert.Single(resource.Acls);
        Assert.Equal(("User:alice", "*", (sbyte)AclOperation.Read, (sbyte)AclPermissionType.Allow), (acl.Principal, acl.Host, acl.Operation, acl.PermissionType));

        var (_, deleted) = await client.RequestAsync<DeleteAclsResponse>(new DeleteAclsRequest
        {
            Filters = [new() { ResourceTypeFilter = (sbyte)AclResourceType.Topic, ResourceNameFilter = "orders", PatternTypeFilter = (sbyte)PatternType.Match, PrincipalFilter = null, HostFilter = null, Operation = (sbyte)AclOperation.Any, PermissionType = (sbyte)AclPermissionType.Any }],
        }, version, correlationId: 3);
        Assert.Equal("User:alice", Assert.Single(Assert.Single(deleted.FilterResults).MatchingAcls).Principal);
        Assert.False(authorizer.Authorize(alice, AclOperation.Read, AclResourceType.Topic, "orders"));
        Assert.Empty((await client.RequestAsync<DescribeAclsResponse>(DescribeAll(), version, correlationId: 4)).Body.Resources);
    }

    [Fact]
    public async Task AclRequests_WithoutAnAuthorizer_AnswerSecurityDisabled()
    {
        await using var broker = await TestBroker.StartAsync();
        await using var client = await broker.ConnectAsync();

        var (_, described) = await client.RequestAsync<DescribeAclsResponse>(DescribeAll(), 2);
        Assert.Equal((short)ErrorCode.SecurityDisabled, described.ErrorCode);
        Assert.Equal("No Authorizer is configured.", described.ErrorMessage);
        var (_, created) = await client.RequestAsync<CreateAclsResponse>(new CreateAclsRequest { Creations = [ReadFor("User:alice", "orders")] }, 2, correlationId: 2);
        Assert.Equal((short)ErrorCode.SecurityDisabled, Assert.Single(created.Results).ErrorCode);
    }

    [Fact]
    public async Task AclRequests_FromAPrincipalWithoutClusterPermission_AnswerClusterAuthorizationFailed()
    {
        await using var broker = await TestBroker.StartAsync(("authorizer.class.name", StandardAuthorizer.ClassName));
        await using var client = await broker.ConnectAsync();

        var (_, described) = await client.RequestAsync<DescribeAclsResponse>(DescribeAll(), 3);
        Assert.Equal((short)ErrorCode.ClusterAuthorizationFailed, described.ErrorCode);
        var (_, created) = await client.RequestAsync<CreateAclsResponse>(new CreateAclsRequest { Creations = [ReadFor("User:alice", "orders")] }, 3, correlationId: 2);
        Assert.Equal((short)ErrorCode.ClusterAuthorizationFailed, Assert.Single(created.Results).ErrorCode);
        Assert.Contains(broker.Logs.Lines, l => l.Message == "Principal = User:ANONYMOUS is Denied operation = ALTER from host = 127.0.0.1 on resource = Cluster:LITERAL:kafka-cluster");
    }

    [Fact]
    public async Task UnknownAuthorizerClass_FailsStartUp()
    {
        var error = await Assert.ThrowsAsync<Samsa.Broker.Config.ConfigException>(() => TestBroker.StartAsync(("authorizer.class.name", "kafka.security.authorizer.AclAuthorizer")));
        Assert.StartsWith("Invalid value kafka.security.authorizer.AclAuthorizer for configuration authorizer.class.name", error.Message);
    }

    [Fact]
    public async Task KafkaAcls_AddThenList_PrintKafkasText()
    {
        await using var broker = await TestBroker.StartAsync(WithAuthorizer);
        var bootstrap = $"127.0.0.1:{broker.Port}";
        const string Resource = "ResourcePattern(resourceType=TOPIC, name=test, patternType=LITERAL)";
        const string Entry = "(principal=User:alice, host=*, operation=READ, permissionType=ALLOW)";

        var add = await BuiltTools.RunCliAsync("acls", "--bootstrap-server", bootstrap, "--add", "--allow-principal", "User:alice", "--operation", "Read", "--topic", "test");
        Assert.True(add.ExitCode == 0, add.Err + add.Out);
        Assert.Equal($"Adding ACLs for resource `{Resource}`: \n \t{Entry} \n\nCurrent ACLs for resource `{Resource}`: \n \t{Entry} \n\n", add.Out);

        var list = await BuiltTools.RunCliAsync("acls", "--bootstrap-server", bootstrap, "--list");
        Assert.True(list.ExitCode == 0, list.Err + list.Out);
        Assert.Equal($"Current ACLs for resource `{Resource}`: \n \t{Entry} \n\n", list.Out);

        var remove = await BuiltTools.RunCliAsync("acls", "--bootstrap-server", bootstrap, "--remove", "--force", "--topic", "test");
        Assert.True(remove.ExitCode == 0, remove.Err + remove.Out);
        Assert.Equal("", remove.Out);
        Assert.Empty(broker.Broker.Metadata.Current.Acls);
    }
}
