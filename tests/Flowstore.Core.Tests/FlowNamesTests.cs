using System.Globalization;
using System.Text.RegularExpressions;

namespace Flowstore.Core.Tests;

public class FlowNamesTests
{
    [Fact]
    public void Flow_task_and_parameter_names_may_use_the_letters_and_digits_of_any_script()
    {
        var flow = new Flow("フロー");
        var task = flow.Task("задача", () => 1);
        flow.Parameter("παράμετρος", 2);
        flow.Task("हिन्दी २", (int x) => x, task);

        Assert.Equal("フロー", flow.Name);
        Assert.Equal("フロー", flow.Slug);
        Assert.Equal("задача", task.Slug);
        Assert.Equal(new[] { "задача", "हिन्दी-२" }, FlowStructure.FromFlow(flow).Tasks.Select(t => t.Slug).Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("  Get__Data!! ", "get-data")]
    [InlineData("ETL v2", "etl-v2")]
    [InlineData("Задача 1", "задача-1")]
    [InlineData("Café Crème", "café-crème")]
    [InlineData("Cafe\u0301", "café")] // decomposed é: the same name as the composed one
    [InlineData("データ_取得", "データ-取得")]
    public void Slugs_keep_letters_and_digits_lower_cased_with_single_dashes(string name, string slug)
        => Assert.Equal(slug, FlowNames.Slugify(name));

    [Fact]
    public void Names_that_differ_in_letters_never_share_a_slug_or_an_ascii_form()
    {
        // Dropping what is not a-z/0-9 would have made each pair one slug.
        string[] names = ["フロー", "フロ", "задача", "задачи", "café", "caf", "cafe", "münchen", "mnchen", "北京", "東京", "x", "xn-x", "con", "データ取得"];

        var slugs = names.Select(FlowNames.Slugify).ToArray();
        var ascii = slugs.Select(FlowNames.ToAsciiSlug).ToArray();

        Assert.Equal(names.Length, slugs.Distinct(StringComparer.Ordinal).Count());
        Assert.Equal(names.Length, ascii.Distinct(StringComparer.Ordinal).Count());
    }

    [Theory]
    [InlineData("get-data")]
    [InlineData("etl-v2")]
    [InlineData("a")]
    public void A_plain_slug_is_its_own_ascii_form(string slug) => Assert.Equal(slug, FlowNames.ToAsciiSlug(slug));

    [Theory]
    [InlineData("münchen")]
    [InlineData("フロー")]
    [InlineData("задача")]
    [InlineData("北京")]
    public void Other_slugs_are_encoded_as_idna_punycode(string slug)
        => Assert.Equal(new IdnMapping().GetAscii(slug), FlowNames.ToAsciiSlug(slug));

    [Fact]
    public void The_ascii_form_is_safe_as_a_file_name_an_object_key_and_a_docker_repository_name()
    {
        var docker = new Regex("^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$");
        foreach (var name in new[] { "フロー", "задача 1", "Café Crème", "get data", "データ_取得", new string('й', 300) })
        {
            var ascii = FlowNames.ToAsciiSlug(FlowNames.Slugify(name));
            Assert.Matches("^[a-z0-9-]+$", ascii);
            Assert.Matches(docker, ascii);
            Assert.True(ascii.Length <= FlowNames.MaxAsciiSlugLength + 1, ascii);
            Assert.Equal(-1, ascii.IndexOfAny(Path.GetInvalidFileNameChars()));
        }
    }

    [Fact]
    public void Windows_device_names_are_encoded_so_they_are_safe_as_file_names()
    {
        Assert.Equal("xn--con-", FlowNames.ToAsciiSlug("con"));
        Assert.Equal("xn--lpt1-", FlowNames.ToAsciiSlug("lpt1"));
        Assert.Equal("console", FlowNames.ToAsciiSlug("console"));
    }

    [Fact]
    public void Long_ascii_forms_are_shortened_with_a_hash_and_stay_distinct()
    {
        var a = FlowNames.ToAsciiSlug(new string('a', 200));
        var b = FlowNames.ToAsciiSlug(new string('a', 199) + "b");
        var limit = FlowNames.ToAsciiSlug(new string('a', FlowNames.MaxAsciiSlugLength));

        Assert.Equal(FlowNames.MaxAsciiSlugLength + 1, a.Length);
        Assert.NotEqual(a, b);
        Assert.Equal(new string('a', FlowNames.MaxAsciiSlugLength), limit);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    public void An_empty_name_says_it_is_empty(string name)
    {
        var e = Assert.Throws<FlowstoreException>(() => new Flow(name));
        Assert.Equal(ErrorIds.InvalidName, e.ErrorId);
        Assert.Contains("which is empty", e.Message);
    }

    [Fact]
    public void A_name_without_letters_or_digits_says_exactly_that()
    {
        var flow = new Flow("ok");

        var e = Assert.Throws<FlowstoreException>(() => flow.Task("!!!", () => 1));

        Assert.Equal(ErrorIds.InvalidName, e.ErrorId);
        Assert.Contains("A task in flow 'ok' has the name '!!!', which has no letter or digit", e.Message);
        Assert.DoesNotContain("use letters, digits, '_' or '-'", e.Message);
    }

    [Theory]
    [InlineData("a\0b", "\\u0000")]
    [InlineData("a\ab", "\\u0007")]
    [InlineData("a\nb", "\\u000A")]
    [InlineData("a\u001b[31mred", "\\u001B")]
    [InlineData("a\u202Eb", "\\u202E")]
    public void Task_flow_and_parameter_names_with_control_characters_are_InvalidName_shown_escaped(string name, string escaped)
    {
        var flow = new Flow("ok");

        var errors = new[]
        {
            Assert.Throws<FlowstoreException>(() => flow.Task(name, () => 1)),
            Assert.Throws<FlowstoreException>(() => new Flow(name)),
            Assert.Throws<FlowstoreException>(() => flow.Parameter(name, 1)),
        };

        Assert.All(errors, e =>
        {
            Assert.Equal(ErrorIds.InvalidName, e.ErrorId);
            Assert.Contains(escaped, e.Message);
            Assert.Contains("control character", e.Message);
            Assert.DoesNotContain(e.Message, c => FlowNames.IsUnsafe(c));
        });
    }

    [Fact]
    public void Labels_with_control_characters_are_InvalidName_when_the_flow_is_checked()
    {
        var flow = new Flow("ok");
        flow.Labels.Add("prod");
        flow.Labels.Add("bad\u001b[2J");

        var e = Assert.Throws<FlowstoreException>(flow.Validate);

        Assert.Equal(ErrorIds.InvalidName, e.ErrorId);
        Assert.Contains("label 'bad\\u001B[2J'", e.Message);
        Assert.DoesNotContain('\u001b', e.Message);
    }

    [Fact]
    public void No_error_message_or_target_carries_a_raw_control_character()
    {
        var e = new FlowstoreException(ErrorIds.FlowNotFound, FlowErrorKind.ObjectNotFound, "Flow 'x\u001b[31m\a' is not registered.\nSecond line\tok.")
        {
            Target = "x\u001b[31m",
        };

        Assert.Equal("Flow 'x\\u001B[31m\\u0007' is not registered.\nSecond line\tok.", e.Message);
        Assert.Equal("x\\u001B[31m", e.Target);
        Assert.Equal("line one\nline two, carriage \\u000D return", new FlowstoreException("X", FlowErrorKind.InvalidData, "line one\r\nline two, carriage \r return").Message);
    }
}
