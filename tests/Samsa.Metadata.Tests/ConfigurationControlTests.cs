using Samsa.Metadata.Controller;
using Samsa.Metadata.Image;
using Samsa.Protocol;
using Samsa.Protocol.MetadataRecords;
using IncrementalRequest = Samsa.Protocol.Messages.IncrementalAlterConfigsRequest;

namespace Samsa.Metadata.Tests;

/// <summary>
/// The controller's side of (Incremental)AlterConfigs on BROKER and GROUP resources: the broker's checks decide,
/// accepted changes become ConfigRecords of the resource's type, APPEND on a broker list starts from its default.
/// </summary>
public sealed class ConfigurationControlTests
{
    private static readonly MetadataImage Image = MetadataImage.Empty("c");

    private static IncrementalRequest Request(ConfigResourceType type, string name, params (string Key, sbyte Op, string? Value)[] configs) => new()
    {
        Resources = [new() { ResourceType = (sbyte)type, ResourceName = name, Configs = [.. configs.Select(c => new IncrementalRequest.AlterableConfig { Name = c.Key, ConfigOperation = c.Op, Value = c.Value })] }],
    };

    [Fact]
    public void Broker_RefusalFromTheBrokersCheck_IsAnsweredAndNothingIsWritten()
    {
        var options = new ControllerOptions
        {
            ValidateBrokerConfigs = (changes, perBroker) => changes.ContainsKey("log.dirs") ? (ErrorCode.InvalidRequest, $"refused, per broker {perBroker}") : null,
        };
        var result = ConfigurationControlManager.IncrementalAlter(Image, Request(ConfigResourceType.Broker, "1", ("log.dirs", 0, "/x")), options);
        Assert.Empty(result.Records);
        Assert.Equal(((short)ErrorCode.InvalidRequest, "refused, per broker True"), (result.Response.Responses[0].ErrorCode, result.Response.Responses[0].ErrorMessage));
    }

    [Fact]
    public void Broker_AppendToAnUnsetList_StartsFromItsDefault()
    {
        var options = new ControllerOptions { BrokerListDefault = name => name == "log.cleanup.policy" ? "delete" : null };
        var result = ConfigurationControlManager.IncrementalAlter(Image, Request(ConfigResourceType.Broker, "", ("log.cleanup.policy", 2, "compact")), options);
        var record = Assert.IsType<ConfigRecord>(Assert.Single(result.Records).Message);
        Assert.Equal(((sbyte)4, "", "delete,compact"), (record.ResourceType, record.ResourceName, record.Value));
        var notList = ConfigurationControlManager.IncrementalAlter(Image, Request(ConfigResourceType.Broker, "", ("log.cleaner.threads", 2, "2")), options);
        Assert.Equal((short)ErrorCode.InvalidConfig, notList.Response.Responses[0].ErrorCode);
    }

    [Fact]
    public void Group_ConfigsAreStoredAsGroupConfigRecords_AfterTheBrokersCheckOfTheWholeSet()
    {
        IReadOnlyDictionary<string, string>? checkedSet = null;
        var options = new ControllerOptions { ValidateGroupConfigs = configs => (checkedSet = configs).ContainsKey("bad") ? "Unknown group config name: bad" : null };
        var result = ConfigurationControlManager.IncrementalAlter(Image, Request(ConfigResourceType.Group, "g", ("consumer.session.timeout.ms", 0, "50000")), options);
        var record = Assert.IsType<ConfigRecord>(Assert.Single(result.Records).Message);
        Assert.Equal(((sbyte)32, "g", "consumer.session.timeout.ms", "50000"), (record.ResourceType, record.ResourceName, record.Name, record.Value));
        Assert.Equal(["consumer.session.timeout.ms"], checkedSet!.Keys);

        var refused = ConfigurationControlManager.IncrementalAlter(Image, Request(ConfigResourceType.Group, "g", ("bad", 0, "1")), options);
        Assert.Empty(refused.Records);
        Assert.Equal(((short)ErrorCode.InvalidConfig, "Unknown group config name: bad"), (refused.Response.Responses[0].ErrorCode, refused.Response.Responses[0].ErrorMessage));
        var unnamed = ConfigurationControlManager.IncrementalAlter(Image, Request(ConfigResourceType.Group, "", ("consumer.session.timeout.ms", 0, "50000")), options);
        Assert.Equal((short)ErrorCode.InvalidRequest, unnamed.Response.Responses[0].ErrorCode);
    }
}
