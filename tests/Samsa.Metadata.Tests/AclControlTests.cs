using Samsa.Metadata.Image;
using Samsa.Metadata.Log;
using Samsa.Protocol;
using Samsa.Protocol.Messages;
using Samsa.Protocol.MetadataRecords;

namespace Samsa.Metadata.Tests;

/// <summary>ACL bindings as metadata (Kafka's AclControlManager): validated, committed, replayed, deleted by filter, snapshotted.</summary>
public sealed class AclControlTests : IDisposable
{
    // Kafka's codes: TOPIC 2, GROUP 3, CLUSTER 4; LITERAL 3, PREFIXED 4; READ 3, WRITE 4, ALTER 7; DENY 2, ALLOW 3.
    private const sbyte Topic = 2, Group = 3, Cluster = 4, Any = 1, Match = 2, Literal = 3, Prefixed = 4, Read = 3, Write = 4, Allow = 3, Deny = 2;

    private readonly ControllerHarness _harness = new();

    public void Dispose() => _harness.Dispose();

    private static CreateAclsRequest.AclCreation Creation(string name, sbyte operation = Read, sbyte pattern = Literal, sbyte type = Topic,
        string principal = "User:alice", sbyte permission = Allow, string host = "*") => new()
        {
            ResourceType = type,
            ResourceName = name,
            ResourcePatternType = pattern,
            Principal = principal,
            Host = host,
            Operation = operation,
            PermissionType = permission,
        };

    private async Task<CreateAclsResponse> CreateAsync(params CreateAclsRequest.AclCreation[] creations) =>
        await _harness.Controller.CreateAclsAsync(new CreateAclsRequest { Creations = [.. creations] }, default);

    private static DeleteAclsRequest.DeleteAclsFilter Filter(string? name, sbyte pattern, sbyte type = Any, string? principal = null, sbyte operation = Any) => new()
    {
        ResourceTypeFilter = type,
        ResourceNameFilter = name,
        PatternTypeFilter = pattern,
        PrincipalFilter = principal,
        HostFilter = null,
        Operation = operation,
        PermissionType = Any,
    };

    [Fact]
    public async Task CreateAcls_CommitsOneRecordPerNewBinding_AndADuplicateIsANoOpSuccess()
    {
        await _harness.Controller.BootstrapAsync(default);
        var first = await CreateAsync(Creation("orders"), Creation("pay-", Write, Prefixed));
        Assert.All(first.Results, r => Assert.Equal(0, r.ErrorCode));
        Assert.Equal(2, _harness.Image.Acls.Count);
        Assert.Contains(new StandardAcl(Topic, "pay-", Prefixed, "User:alice", "*", Write, Allow), _harness.Image.Acls.Values);

        var again = await CreateAsync(Creation("orders"), Creation("orders"));
        Assert.All(again.Results, r => Assert.Equal(0, r.ErrorCode));
        Assert.Equal(2, _harness.Image.Acls.Count);
    }

    [Theory]
    [InlineData(Cluster, "my-cluster", Literal, Read, Allow, "User:alice", "The only valid name for the CLUSTER resource is kafka-cluster")]
    [InlineData(Topic, "", Literal, Read, Allow, "User:alice", "Invalid empty resource name")]
    [InlineData(Topic, "t", Any, Read, Allow, "User:alice", "Invalid patternType ANY")]
    [InlineData(Topic, "t", Match, Read, Allow, "User:alice", "Invalid patternType MATCH")]
    [InlineData(Any, "t", Literal, Read, Allow, "User:alice", "Invalid resourceType ANY")]
    [InlineData(Topic, "t", Literal, 0, Allow, "User:alice", "Invalid operation UNKNOWN")]
    [InlineData(Topic, "t", Literal, Read, Any, "User:alice", "Invalid permissionType ANY")]
    [InlineData(Topic, "t", Literal, Read, Allow, "alice", "Could not parse principal from `alice` (no colon is present separating the principal type from the principal name)")]
    public async Task CreateAcls_RefusesAnInvalidBinding_WithKafkasMessage(sbyte type, string name, sbyte pattern, sbyte operation, sbyte permission, string principal, string message)
    {
        await _harness.Controller.BootstrapAsync(default);
        var response = await CreateAsync(Creation("fine"), Creation(name, operation, pattern, type, principal, permission));

        Assert.Equal(0, response.Results[0].ErrorCode);
        Assert.Equal((short)ErrorCode.InvalidRequest, response.Results[1].ErrorCode);
        Assert.Equal(message, response.Results[1].ErrorMessage);
        Assert.Single(_harness.Image.Acls);
    }

    [Fact]
    public async Task DeleteAcls_RemovesWhatEachFilterMatches_WithAnyAndMatchSemantics()
    {
        await _harness.Controller.BootstrapAsync(default);
        await CreateAsync(Creation("orders"), Creation("*"), Creation("ord", pattern: Prefixed), Creation("orders", principal: "User:bob", permission: Deny),
            Creation("orders", type: Group), Creation("other"));

        var response = await _harness.Controller.DeleteAclsAsync(new DeleteAclsRequest
        {
            Filters =
            [
                // MATCH: every binding that applies to topic "orders" (the literal, the wildcard, the prefix), here only bob's.
                Filter("orders", Match, Topic, principal: "User:bob"),
                // ANY: the exact name under any pattern type and resource type.
                Filter("orders", Any),
                Filter("nothing", Literal, Topic),
                Filter(null, Literal, Topic, operation: 0),
            ],
        }, default);

        Assert.Single(response.FilterResults[0].MatchingAcls);
        Assert.Equal("User:bob", response.FilterResults[0].MatchingAcls[0].Principal);
        // The second filter matches bob's binding too (listed again, removed once) and both "orders" of alice.
        Assert.Equal(3, response.FilterResults[1].MatchingAcls.Count);
        Assert.Empty(response.FilterResults[2].MatchingAcls);
        Assert.Equal((short)ErrorCode.InvalidRequest, response.FilterResults[3].ErrorCode);
        Assert.Equal("Unknown entryFilter.", response.FilterResults[3].ErrorMessage);
        Assert.Equal(["*", "ord", "other"], _harness.Image.Acls.Values.Select(a => a.ResourceName).Order(StringComparer.Ordinal));

        var match = await _harness.Controller.DeleteAclsAsync(new DeleteAclsRequest { Filters = [Filter("orders", Match, Topic)] }, default);
        Assert.Equal(["*", "ord"], match.FilterResults[0].MatchingAcls.Select(a => a.ResourceName).Order(StringComparer.Ordinal));
        Assert.Equal("other", Assert.Single(_harness.Image.Acls.Values).ResourceName);
    }

    [Fact]
    public async Task Acls_SurviveASnapshot_AndRemovingAnUnknownIdIsACorruptLog()
    {
        await _harness.Controller.BootstrapAsync(default);
        await CreateAsync(Creation("orders"), Creation("pay-", Write, Prefixed, principal: "User:*", host: "10.0.0.1"), Creation("g", type: Group, permission: Deny));
        var image = _harness.Image;

        var dir = Directory.CreateTempSubdirectory("samsa-acl-snapshot-").FullName;
        try
        {
            var path = MetadataSnapshots.Write(dir, image, 0);
            var delta = new MetadataDelta(MetadataImage.Empty(ControllerHarness.ClusterId));
            var offset = 0L;
            foreach (var record in MetadataSnapshots.Read(path))
            {
                delta.Replay(record, offset++);
            }
            var restored = delta.Apply();
            Assert.Equal(image.Acls.OrderBy(a => a.Key.ToString()), restored.Acls.OrderBy(a => a.Key.ToString()));

            var corrupt = new MetadataDelta(restored);
            Assert.Throws<InvalidOperationException>(() => corrupt.Replay(MetadataRecord.Of(new RemoveAccessControlEntryRecord { Id = Uuid.Random() }), offset));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
