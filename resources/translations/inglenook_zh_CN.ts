<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN">
<context>
    <name>AppController</name>
    <message>
        <source>The setting could not be saved: {error}</source>
        <translation>设置未能保存：{error}</translation>
    </message>
    <message>
        <source>{path} cannot be added: {error}</source>
        <translation>无法添加 {path}：{error}</translation>
    </message>
    <message>
        <source>{path} cannot be read: {error}</source>
        <translation>无法读取 {path}：{error}</translation>
    </message>
    <message>
        <source>There is no OS keyring here, so the key for {name} is kept only until Inglenook closes (it is never saved in plain text).</source>
        <translation>此处没有系统密钥环，因此 {name} 的密钥只保留到 Inglenook 关闭为止（绝不以明文保存）。</translation>
    </message>
    <message>
        <source>{name} is loaded; load another model before removing it.</source>
        <translation>{name} 正在使用中；请先加载其他模型再移除它。</translation>
    </message>
    <message>
        <source>The file could not be deleted: {error}</source>
        <translation>文件未能删除：{error}</translation>
    </message>
    <message>
        <source>Load a model first: pick one at the top of the chat.</source>
        <translation>请先加载模型：在聊天页顶部选择一个。</translation>
    </message>
    <message>
        <source>{path} could not be written: {error}</source>
        <translation>无法写入 {path}：{error}</translation>
    </message>
    <message>
        <source>Exported to {path}</source>
        <translation>已导出到 {path}</translation>
    </message>
    <message>
        <source>A download is already running; wait for it or cancel it.</source>
        <translation>已有下载正在进行；请等待完成或取消它。</translation>
    </message>
    <message>
        <source>The models folder cannot be read: {error}</source>
        <translation>无法读取模型文件夹：{error}</translation>
    </message>
    <message>
        <source>{path} could not be deleted: {error}</source>
        <translation>无法删除 {path}：{error}</translation>
    </message>
    <message>
        <source>Training needs at least {minimum} examples; your ratings make {used}. Rate (thumbs up) or edit {missing} more replies, then try again.</source>
        <translation>训练至少需要 {minimum} 个样例；你的评分目前能提供 {used} 个。请再给 {missing} 个回复点赞或修改，然后再试。</translation>
    </message>
</context>
<context>
    <name>ChatCollections</name>
    <message>
        <source>Strict: only from documents</source>
        <translation>严格：只依据文档</translation>
    </message>
    <message>
        <source>Answer only from the chosen documents; say so when they do not cover it</source>
        <translation>只根据所选文档回答；文档未涉及时如实说明</translation>
    </message>
    <message>
        <source>Documents: {names}</source>
        <translation>文档：{names}</translation>
    </message>
    <message>
        <source>Documents: none</source>
        <translation>文档：无</translation>
    </message>
    <message>
        <source>No collections yet: add folders in the Library</source>
        <translation>还没有文档集：请在“资料库”中添加文件夹</translation>
    </message>
</context>
<context>
    <name>ChatPage</name>
    <message>
        <source>Copied to the clipboard.</source>
        <translation>已复制到剪贴板。</translation>
    </message>
    <message>
        <source>New chat</source>
        <translation>新对话</translation>
    </message>
    <message>
        <source>Search conversations</source>
        <translation>搜索对话</translation>
    </message>
    <message>
        <source>No conversation matches.</source>
        <translation>没有匹配的对话。</translation>
    </message>
    <message>
        <source>Model</source>
        <translation>模型</translation>
    </message>
    <message>
        <source>Manage models</source>
        <translation>管理模型</translation>
    </message>
    <message>
        <source>Conversation settings</source>
        <translation>对话设置</translation>
    </message>
    <message>
        <source>Send</source>
        <translation>发送</translation>
    </message>
    <message>
        <source>Stop</source>
        <translation>停止</translation>
    </message>
    <message>
        <source>Message the model (Enter to send, Shift+Enter for a new line)</source>
        <translation>给模型发消息（Enter 发送，Shift+Enter 换行）</translation>
    </message>
    <message>
        <source>Regenerate</source>
        <translation>重新生成</translation>
    </message>
    <message>
        <source>Answer the last message again; the current answer is kept</source>
        <translation>重新回答最后一条消息；当前回答会保留</translation>
    </message>
    <message>
        <source>What can I help with?</source>
        <translation>有什么可以帮你？</translation>
    </message>
    <message>
        <source>Everything stays on this computer. Ask a question, paste text to summarise, or ask for code.</source>
        <translation>所有内容都留在这台电脑上。可以提问、粘贴文字让它总结，或者让它写代码。</translation>
    </message>
    <message>
        <source>Rename…</source>
        <translation>重命名…</translation>
    </message>
    <message>
        <source>Export…</source>
        <translation>导出…</translation>
    </message>
    <message>
        <source>Delete</source>
        <translation>删除</translation>
    </message>
    <message>
        <source>Rename conversation</source>
        <translation>重命名对话</translation>
    </message>
    <message>
        <source>Title:</source>
        <translation>标题：</translation>
    </message>
    <message>
        <source>Export conversation</source>
        <translation>导出对话</translation>
    </message>
    <message>
        <source>Markdown (*.md);;JSON (*.json)</source>
        <translation>Markdown (*.md);;JSON (*.json)</translation>
    </message>
    <message>
        <source>Delete conversation</source>
        <translation>删除对话</translation>
    </message>
    <message>
        <source>Delete “{title}” and all its messages?</source>
        <translation>删除“{title}”及其全部消息？</translation>
    </message>
    <message>
        <source>Choose a model</source>
        <translation>选择模型</translation>
    </message>
    <message>
        <source>Loading…</source>
        <translation>正在加载…</translation>
    </message>
    <message>
        <source>Ready · context {n_ctx} tokens</source>
        <translation>就绪 · 上下文 {n_ctx} 个词元</translation>
    </message>
    <message>
        <source>No model loaded</source>
        <translation>未加载模型</translation>
    </message>
    <message>
        <source>Thinking…</source>
        <translation>思考中…</translation>
    </message>
    <message>
        <source>Writing… {tokens} tokens · {speed} tok/s</source>
        <translation>正在生成… {tokens} 个词元 · {speed} 词元/秒</translation>
    </message>
    <message>
        <source>{n} older messages no longer fit in the {n_ctx}-token context and were left out of this reply.</source>
        <translation>有 {n} 条较早的消息超出了 {n_ctx} 词元的上下文，本次回复未包含它们。</translation>
    </message>
    <message>
        <source>Stopped.</source>
        <translation>已停止。</translation>
    </message>
    <message>
        <source>The reply failed.</source>
        <translation>回复失败。</translation>
    </message>
    <message>
        <source>{tokens} tokens · {speed} tok/s</source>
        <translation>{tokens} 个词元 · {speed} 词元/秒</translation>
    </message>
    <message>
        <source>first token {ms} ms</source>
        <translation>首个词元 {ms} 毫秒</translation>
    </message>
    <message>
        <source>context {used}/{total}</source>
        <translation>上下文 {used}/{total}</translation>
    </message>
    <message>
        <source>stopped</source>
        <translation>已停止</translation>
    </message>
    <message>
        <source>max tokens reached</source>
        <translation>已达最大词元数</translation>
    </message>
    <message>
        <source>context full</source>
        <translation>上下文已满</translation>
    </message>
</context>
<context>
    <name>ChatView</name>
    <message>
        <source>Show {n} earlier messages</source>
        <extracomment>other versions of a message (its siblings&apos; ids), for the &quot;‹ 2/3 ›&quot; switch; set by the page the saved ratings and edits of replies (``{message id: Feedback}``); set by the page</extracomment>
        <translation>显示更早的 {n} 条消息</translation>
    </message>
</context>
<context>
    <name>CollectionSettingsDialog</name>
    <message>
        <source>Index settings of {name}</source>
        <translation>{name} 的索引设置</translation>
    </message>
    <message>
        <source>Embedding model</source>
        <translation>嵌入模型</translation>
    </message>
    <message>
        <source>Chunk size</source>
        <translation>分块大小</translation>
    </message>
    <message>
        <source>Passage size</source>
        <translation>段落大小</translation>
    </message>
    <message>
        <source>Chinese full-text split</source>
        <translation>中文全文切分方式</translation>
    </message>
    <message>
        <source>Chunk size is what a search matches: 200 means 200 Chinese characters or about 100 English words. Passage size is how much text around a match the answer gets. Changing any of these re-indexes the collection; until that finishes, searches keep using the current index.</source>
        <translation>分块大小是搜索匹配的单位：200 表示 200 个汉字或约 100 个英文单词。段落大小是回答时取用的匹配处前后文字的长度。更改任一项都会重新索引该文档集；完成之前，搜索继续使用当前索引。</translation>
    </message>
    <message>
        <source>multilingual</source>
        <translation>多语言</translation>
    </message>
    <message>
        <source>English only</source>
        <translation>仅英文</translation>
    </message>
    <message>
        <source>{name} ({languages})</source>
        <translation>{name}（{languages}）</translation>
    </message>
    <message>
        <source>{name} ({languages}, download {size} MB)</source>
        <translation>{name}（{languages}，需下载 {size} MB）</translation>
    </message>
    <message>
        <source>{name}: {note}. Chinese and English text both get meaning search.</source>
        <translation>{name}：{note}。中文和英文文本都能按语义搜索。</translation>
    </message>
    <message>
        <source>{name}: understands English only. Chinese, Japanese and Korean text is not embedded (it would be noise) and is found by its words.</source>
        <translation>{name}：只理解英文。中文、日文和韩文文本不做嵌入（那只会是噪声），按字词全文检索。</translation>
    </message>
    <message>
        <source>It is downloaded ({size} MB) when you press OK.</source>
        <translation>按“确定”后开始下载（{size} MB）。</translation>
    </message>
    <message>
        <source>Searches use the embedding model {name}.</source>
        <translation>搜索使用嵌入模型 {name}。</translation>
    </message>
    <message>
        <source>{n} of {total} chunks are full-text only: their language (Chinese, Japanese or Korean) is one the embedding model does not cover, so they are found by their words. For meaning search too, choose a multilingual model in Index settings.</source>
        <translation>{total} 个分块中有 {n} 个仅用全文检索：嵌入模型不支持它们的语言（中文、日文或韩文），因此按字词查找。如需语义搜索，请在“索引设置”中选择多语言模型。</translation>
    </message>
    <message>
        <source>Re-embedding with {wanted} is not finished; searches use {current} until it is. Re-index to finish it.</source>
        <translation>使用 {wanted} 重新嵌入尚未完成；完成前搜索仍使用 {current}。重新索引即可继续完成。</translation>
    </message>
</context>
<context>
    <name>ConfigDialog</name>
    <message>
        <source>Configuration</source>
        <translation>配置</translation>
    </message>
    <message>
        <source>The model loaded now</source>
        <translation>当前已加载的模型</translation>
    </message>
    <message>
        <source>None</source>
        <translation>无</translation>
    </message>
    <message>
        <source>Off (no documents)</source>
        <translation>关闭（不用文档）</translation>
    </message>
    <message>
        <source>Vector</source>
        <translation>向量</translation>
    </message>
    <message>
        <source>Full text</source>
        <translation>全文</translation>
    </message>
    <message>
        <source>Hybrid</source>
        <translation>混合</translation>
    </message>
    <message>
        <source>Answer only from the documents</source>
        <translation>只根据文档回答</translation>
    </message>
    <message>
        <source>e.g. pirate:0.8, formal</source>
        <translation>例如 pirate:0.8, formal</translation>
    </message>
    <message>
        <source>The model&apos;s answer</source>
        <translation>模型的回答</translation>
    </message>
    <message>
        <source>Quotes from the sources</source>
        <translation>引用来源中的句子</translation>
    </message>
    <message>
        <source>None (retrieval only)</source>
        <translation>无（只检索）</translation>
    </message>
    <message>
        <source>Name</source>
        <translation>名称</translation>
    </message>
    <message>
        <source>Model</source>
        <translation>模型</translation>
    </message>
    <message>
        <source>Preset</source>
        <translation>预设</translation>
    </message>
    <message>
        <source>System prompt</source>
        <translation>系统提示词</translation>
    </message>
    <message>
        <source>Collections</source>
        <translation>文档集</translation>
    </message>
    <message>
        <source>Retrieval</source>
        <translation>检索</translation>
    </message>
    <message>
        <source>Passages (k)</source>
        <translation>段落数（k）</translation>
    </message>
    <message>
        <source>Query rewriting</source>
        <translation>改写问题</translation>
    </message>
    <message>
        <source>Styles (LoRA)</source>
        <translation>风格（LoRA）</translation>
    </message>
    <message>
        <source>Answer</source>
        <translation>回答</translation>
    </message>
    <message>
        <source>Max tokens</source>
        <translation>最大词元数</translation>
    </message>
    <message>
        <source>Give the configuration a name.</source>
        <translation>请给这个配置起个名字。</translation>
    </message>
    <message>
        <source>Another configuration is called {name}.</source>
        <translation>已有另一个配置叫 {name}。</translation>
    </message>
    <message>
        <source>Tick a collection to retrieve from, or set retrieval to Off.</source>
        <translation>请勾选要检索的文档集，或把检索设为关闭。</translation>
    </message>
</context>
<context>
    <name>DiagnosticsDialog</name>
    <message>
        <source>About Inglenook and diagnostics</source>
        <translation>关于 Inglenook 与诊断</translation>
    </message>
    <message>
        <source>Checking the runtime, the disk and a test reply…</source>
        <translation>正在检查运行时、磁盘并试答一句…</translation>
    </message>
    <message>
        <source>Copy report</source>
        <translation>复制报告</translation>
    </message>
    <message>
        <source>model process {pid}</source>
        <translation>模型进程 {pid}</translation>
    </message>
    <message>
        <source>no model process running</source>
        <translation>没有运行中的模型进程</translation>
    </message>
    <message>
        <source>last stop: {what}</source>
        <translation>上次停止：{what}</translation>
    </message>
    <message>
        <source>Everything needed to chat works.</source>
        <translation>聊天所需的一切都正常。</translation>
    </message>
    <message>
        <source>Something needs fixing: see the red lines.</source>
        <translation>有问题需要处理：请看红色的行。</translation>
    </message>
    <message>
        <source>The checks could not run: {error}</source>
        <translation>检查无法运行：{error}</translation>
    </message>
</context>
<context>
    <name>EvalResults</name>
    <message>
        <source>Hit@k (a gold source retrieved)</source>
        <translation>Hit@k（检索到了标准来源）</translation>
    </message>
    <message>
        <source>MRR (rank of the first gold source)</source>
        <translation>MRR（第一个标准来源的排名）</translation>
    </message>
    <message>
        <source>Context precision</source>
        <translation>上下文精确率</translation>
    </message>
    <message>
        <source>Context recall</source>
        <translation>上下文召回率</translation>
    </message>
    <message>
        <source>Faithfulness (answer supported by the sources)</source>
        <translation>忠实度（回答有来源支持）</translation>
    </message>
    <message>
        <source>Answer relevancy</source>
        <translation>回答相关性</translation>
    </message>
    <message>
        <source>Answer correctness (against the reference)</source>
        <translation>回答正确性（对照参考答案）</translation>
    </message>
    <message>
        <source>{name} is better</source>
        <translation>{name} 更好</translation>
    </message>
    <message>
        <source>no clear difference</source>
        <translation>没有明显差别</translation>
    </message>
    <message>
        <source>{a} vs {b}, {metric}: {diff:+.2f} [{low:+.2f}, {high:+.2f}] — {verdict}</source>
        <translation>{a} 对比 {b}，{metric}：{diff:+.2f} [{low:+.2f}, {high:+.2f}] — {verdict}</translation>
    </message>
    <message>
        <source>Judge {name}: accuracy {accuracy:.2f}, kappa {kappa:.2f} on {n} labelled cases.</source>
        <translation>评审模型 {name}：在 {n} 个标注样例上准确率 {accuracy:.2f}，kappa {kappa:.2f}。</translation>
    </message>
    <message>
        <source>It is too weak to trust: the chart shows the judge-free measures.</source>
        <translation>它太弱，不可信：图表显示的是无评审指标。</translation>
    </message>
    <message>
        <source>Not answered yet.</source>
        <translation>尚未回答。</translation>
    </message>
    <message>
        <source>Failed:</source>
        <translation>失败：</translation>
    </message>
    <message>
        <source>(no answer)</source>
        <translation>（没有回答）</translation>
    </message>
    <message>
        <source>Reference:</source>
        <translation>参考答案：</translation>
    </message>
    <message>
        <source>Sources</source>
        <translation>来源</translation>
    </message>
    <message>
        <source>page {page}</source>
        <translation>第 {page} 页</translation>
    </message>
</context>
<context>
    <name>EvaluatePage</name>
    <message>
        <source>Evaluate</source>
        <translation>评估</translation>
    </message>
    <message>
        <source>Which helps with your questions: a prompt, retrieval from your documents, or a style (LoRA)? Run the same questions through several configurations and compare the measures. Judge-free measures need no extra model; a judge model adds LLM-judged ones, labelled as such.</source>
        <translation>对你的问题来说，哪一个更有帮助：提示词、从文档中检索，还是风格（LoRA）？用几种配置回答同一组问题，再比较各项指标。无评审指标不需要额外的模型；选择评审模型后会增加由大模型评审的指标，并会标明。</translation>
    </message>
    <message>
        <source>Question set</source>
        <translation>问题集</translation>
    </message>
    <message>
        <source>A .jsonl file: one question a line</source>
        <translation>一个 .jsonl 文件：每行一个问题</translation>
    </message>
    <message>
        <source>Choose…</source>
        <translation>选择…</translation>
    </message>
    <message>
        <source>Review…</source>
        <translation>审阅…</translation>
    </message>
    <message>
        <source>Configurations to compare (the first ticked one is the baseline)</source>
        <translation>要比较的配置（第一个勾选的是基准）</translation>
    </message>
    <message>
        <source>Add…</source>
        <translation>添加…</translation>
    </message>
    <message>
        <source>Edit…</source>
        <translation>编辑…</translation>
    </message>
    <message>
        <source>Remove</source>
        <translation>移除</translation>
    </message>
    <message>
        <source>Judge model</source>
        <translation>评审模型</translation>
    </message>
    <message>
        <source>Run</source>
        <translation>运行</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <source>Open report</source>
        <translation>打开报告</translation>
    </message>
    <message>
        <source>None (judge-free measures)</source>
        <translation>无（无评审指标）</translation>
    </message>
    <message>
        <source>Choose a question set</source>
        <translation>选择问题集</translation>
    </message>
    <message>
        <source>Question sets (*.jsonl);;All files (*)</source>
        <translation>问题集 (*.jsonl);;所有文件 (*)</translation>
    </message>
    <message>
        <source>{n} questions</source>
        <translation>{n} 个问题</translation>
    </message>
    <message>
        <source>, {d} not reviewed</source>
        <translation>，{d} 个未审阅</translation>
    </message>
    <message>
        <source>The saved evaluation configurations could not be read ({error}); the defaults are shown.</source>
        <translation>无法读取已保存的评估配置（{error}），现在显示的是默认配置。</translation>
    </message>
    <message>
        <source>no documents</source>
        <translation>不用文档</translation>
    </message>
    <message>
        <source>{mode}, k={k}, {names}</source>
        <translation>{mode}，k={k}，{names}</translation>
    </message>
    <message>
        <source>preset {name}</source>
        <translation>预设 {name}</translation>
    </message>
    <message>
        <source>own prompt</source>
        <translation>自定义提示词</translation>
    </message>
    <message>
        <source>strict</source>
        <translation>严格</translation>
    </message>
    <message>
        <source>style {styles}</source>
        <translation>风格 {styles}</translation>
    </message>
    <message>
        <source>quotes</source>
        <translation>引用</translation>
    </message>
    <message>
        <source>retrieval only</source>
        <translation>只检索</translation>
    </message>
    <message>
        <source>configuration {n}</source>
        <translation>配置 {n}</translation>
    </message>
    <message>
        <source>Choose a question set first.</source>
        <translation>请先选择一个问题集。</translation>
    </message>
    <message>
        <source>Tick at least one configuration.</source>
        <translation>请至少勾选一个配置。</translation>
    </message>
    <message>
        <source>Load a model first (at the top of the chat): the configurations use it.</source>
        <translation>请先加载模型（在聊天页顶部）：这些配置要用它。</translation>
    </message>
    <message>
        <source>An evaluation is running on the model; the chat can answer once it is done or cancelled (Evaluate page).</source>
        <translation>模型正在运行评估；评估完成或取消后（在评估页）聊天才能回答。</translation>
    </message>
    <message>
        <source>Starting…</source>
        <translation>正在开始…</translation>
    </message>
    <message>
        <source>Stopping after the current question…</source>
        <translation>答完当前问题后停止…</translation>
    </message>
    <message>
        <source>Answering</source>
        <translation>正在回答</translation>
    </message>
    <message>
        <source>Measuring</source>
        <translation>正在评分</translation>
    </message>
    <message>
        <source>Done</source>
        <translation>完成</translation>
    </message>
    <message>
        <source>{done} of {total}</source>
        <translation>{done}/{total}</translation>
    </message>
    <message>
        <source>about {eta} left</source>
        <translation>约剩 {eta}</translation>
    </message>
    <message>
        <source>Stopped. What was answered is kept: Run again to go on from there.</source>
        <translation>已停止。已回答的内容都保留着：再次运行会从那里继续。</translation>
    </message>
    <message>
        <source>Done: {n} answers measured. Click a question to compare the answers.</source>
        <translation>完成：已为 {n} 个回答评分。点击一个问题可比较各个回答。</translation>
    </message>
    <message>
        <source>The evaluation failed: {error}</source>
        <translation>评估失败：{error}</translation>
    </message>
    <message>
        <source>The report is at {path}; no application could open it.</source>
        <translation>报告在 {path}；没有应用程序能打开它。</translation>
    </message>
</context>
<context>
    <name>IndexSettingsControl</name>
    <message>
        <source>Downloading {embedder}…</source>
        <translation>正在下载 {embedder}…</translation>
    </message>
    <message>
        <source>Downloading {embedder}: {done:.0f} of {total:.0f} MB</source>
        <translation>正在下载 {embedder}：{done:.0f} / {total:.0f} MB</translation>
    </message>
    <message>
        <source>Download cancelled; the index is unchanged.</source>
        <translation>下载已取消；索引未改变。</translation>
    </message>
    <message>
        <source>Download failed; the index is unchanged.</source>
        <translation>下载失败；索引未改变。</translation>
    </message>
    <message>
        <source>The embedding model could not be downloaded: {error}</source>
        <translation>无法下载嵌入模型：{error}</translation>
    </message>
    <message>
        <source>Details of {name}</source>
        <translation>{name} 的详情</translation>
    </message>
</context>
<context>
    <name>LibraryPage</name>
    <message>
        <source>it does not exist</source>
        <translation>它不存在</translation>
    </message>
    <message>
        <source>permission denied</source>
        <translation>没有权限</translation>
    </message>
    <message>
        <source>Library</source>
        <translation>资料库</translation>
    </message>
    <message>
        <source>Add folders of documents (PDF, Word, PowerPoint, web pages, text): drop them here or use Add folder. Everything is indexed on this computer; the chat answers from the collections you choose and lists its sources.</source>
        <translation>添加文档文件夹（PDF、Word、PowerPoint、网页、文本）：拖放到这里，或点击“添加文件夹”。所有内容都在这台电脑上建立索引；聊天会根据你选择的文档集回答，并列出来源。</translation>
    </message>
    <message>
        <source>Add folder…</source>
        <translation>添加文件夹…</translation>
    </message>
    <message>
        <source>Re-index</source>
        <translation>重新索引</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <source>Details</source>
        <translation>详情</translation>
    </message>
    <message>
        <source>Index settings…</source>
        <translation>索引设置…</translation>
    </message>
    <message>
        <source>Remove</source>
        <translation>移除</translation>
    </message>
    <message>
        <source>Watch for changes</source>
        <translation>监视更改</translation>
    </message>
    <message>
        <source>Name</source>
        <translation>名称</translation>
    </message>
    <message>
        <source>Folders</source>
        <translation>文件夹</translation>
    </message>
    <message>
        <source>Files</source>
        <translation>文件</translation>
    </message>
    <message>
        <source>Chunks</source>
        <translation>片段</translation>
    </message>
    <message>
        <source>Skipped</source>
        <translation>已跳过</translation>
    </message>
    <message>
        <source>Failed</source>
        <translation>失败</translation>
    </message>
    <message>
        <source>Last indexed</source>
        <translation>上次索引</translation>
    </message>
    <message>
        <source>Status</source>
        <translation>状态</translation>
    </message>
    <message>
        <source>No collections yet. Drop a folder here to make one.</source>
        <translation>还没有文档集。把文件夹拖放到这里即可创建。</translation>
    </message>
    <message>
        <source>never</source>
        <translation>从未</translation>
    </message>
    <message>
        <source>Choose a folder of documents</source>
        <translation>选择文档文件夹</translation>
    </message>
    <message>
        <source>{path} cannot be read ({error}); nothing was added.</source>
        <translation>无法读取 {path}（{error}）；未添加任何内容。</translation>
    </message>
    <message>
        <source>{path} cannot be read ({error}); the collection was not indexed.</source>
        <translation>无法读取 {path}（{error}）；文档集未建立索引。</translation>
    </message>
    <message>
        <source>Starting…</source>
        <translation>正在开始…</translation>
    </message>
    <message>
        <source>Cancelling…</source>
        <translation>正在取消…</translation>
    </message>
    <message>
        <source>Scanning folders…</source>
        <translation>正在扫描文件夹…</translation>
    </message>
    <message>
        <source>Finishing…</source>
        <translation>正在收尾…</translation>
    </message>
    <message>
        <source>{done}/{total} files · {rate:.1f} chunks/s · {eta} left</source>
        <translation>{done}/{total} 个文件 · 每秒 {rate:.1f} 个片段 · 剩余 {eta}</translation>
    </message>
    <message>
        <source>{n} failed</source>
        <translation>{n} 个失败</translation>
    </message>
    <message>
        <source>Cancelled; run Re-index to finish.</source>
        <translation>已取消；点击“重新索引”以完成。</translation>
    </message>
    <message>
        <source>Done in {seconds:.1f} s: {added} added, {updated} updated, {removed} removed</source>
        <translation>用时 {seconds:.1f} 秒完成：新增 {added} 个，更新 {updated} 个，移除 {removed} 个</translation>
    </message>
    <message>
        <source>{skipped} skipped, {failed} failed (see Details)</source>
        <translation>跳过 {skipped} 个，失败 {failed} 个（见详情）</translation>
    </message>
    <message>
        <source>{n} chunks full-text only (language not covered by the embedding model)</source>
        <translation>{n} 个分块仅全文检索（嵌入模型不支持其语言）</translation>
    </message>
    <message>
        <source>Indexing {name} failed: {error}</source>
        <translation>为 {name} 建立索引失败：{error}</translation>
    </message>
    <message>
        <source>Remove collection</source>
        <translation>移除文档集</translation>
    </message>
    <message>
        <source>Remove the collection {name} and its index? The files themselves are not touched.</source>
        <translation>移除文档集 {name} 及其索引？文件本身不会被改动。</translation>
    </message>
    <message>
        <source>{name} cannot be watched: {error}</source>
        <translation>无法监视 {name}：{error}</translation>
    </message>
    <message>
        <source>Updating {name} failed: {error}</source>
        <translation>更新 {name} 失败：{error}</translation>
    </message>
    <message>
        <source>Folders: {roots}</source>
        <translation>文件夹：{roots}</translation>
    </message>
    <message>
        <source>Every file was indexed without warnings.</source>
        <translation>所有文件均已索引，没有警告。</translation>
    </message>
    <message>
        <source>skipped</source>
        <translation>已跳过</translation>
    </message>
    <message>
        <source>failed</source>
        <translation>失败</translation>
    </message>
    <message>
        <source>warning</source>
        <translation>警告</translation>
    </message>
</context>
<context>
    <name>LoraControl</name>
    <message>
        <source>The file {path} is gone.</source>
        <translation>文件 {path} 已不存在。</translation>
    </message>
    <message>
        <source>{path} is registered already, as {name}.</source>
        <translation>{path} 已经登记过了，名称为 {name}。</translation>
    </message>
    <message>
        <source>{path} cannot be added: {error}</source>
        <translation>无法添加 {path}：{error}</translation>
    </message>
    <message>
        <source>{path} cannot be read: {error}</source>
        <translation>无法读取 {path}：{error}</translation>
    </message>
    <message>
        <source>Added the style {name}.</source>
        <translation>已添加风格 {name}。</translation>
    </message>
    <message>
        <source>Added {name}, but it does not fit {model}: {error}</source>
        <translation>已添加 {name}，但它与 {model} 不匹配：{error}</translation>
    </message>
    <message>
        <source>Added the style {name}; switch it on below.</source>
        <translation>已添加风格 {name}，可在下方开启。</translation>
    </message>
    <message>
        <source>The file could not be deleted: {error}</source>
        <translation>无法删除文件：{error}</translation>
    </message>
    <message>
        <source>Load the model the adapter was trained on first.</source>
        <translation>请先加载训练该适配器时所用的模型。</translation>
    </message>
    <message>
        <source>Converted {folder} for {model}; registered as {name}.</source>
        <translation>已为 {model} 转换 {folder}，登记名称为 {name}。</translation>
    </message>
    <message>
        <source>{folder} could not be converted: {error}</source>
        <translation>无法转换 {folder}：{error}</translation>
    </message>
    <message>
        <source>Wait for the reply to finish before changing styles.</source>
        <translation>请等回复写完后再更改风格。</translation>
    </message>
    <message>
        <source>A style is being trained already; wait for it or cancel it.</source>
        <translation>已有一个风格正在训练，请等待完成或取消它。</translation>
    </message>
    <message>
        <source>Choose a model first: adapters are trained for one model.</source>
        <translation>请先选择模型：适配器是针对某一个模型训练的。</translation>
    </message>
</context>
<context>
    <name>LoraPanel</name>
    <message>
        <source>Styles (LoRA)</source>
        <translation>风格（LoRA）</translation>
    </message>
    <message>
        <source>Add adapter…</source>
        <translation>添加适配器…</translation>
    </message>
    <message>
        <source>Register a GGUF LoRA adapter file</source>
        <translation>登记一个 GGUF 格式的 LoRA 适配器文件</translation>
    </message>
    <message>
        <source>Convert PEFT folder…</source>
        <translation>转换 PEFT 文件夹…</translation>
    </message>
    <message>
        <source>Turn a Hugging Face PEFT adapter folder (adapter_config.json and adapter_model.safetensors) into a GGUF adapter for the current model</source>
        <translation>把 Hugging Face 的 PEFT 适配器文件夹（adapter_config.json 和 adapter_model.safetensors）转换为适用于当前模型的 GGUF 适配器</translation>
    </message>
    <message>
        <source>Train a style…</source>
        <translation>训练风格…</translation>
    </message>
    <message>
        <source>Teach the current model a style from a file of examples</source>
        <translation>用示例文件教当前模型一种风格</translation>
    </message>
    <message>
        <source>Make a style from my rated replies…</source>
        <translation>用我评过分的回复训练风格…</translation>
    </message>
    <message>
        <source>Train a style on the replies you liked (thumbs up) and the replies you edited, in the words you chose</source>
        <translation>用你点过赞的回复和你修改过的回复（按你写的文字）训练一个风格</translation>
    </message>
    <message>
        <source>Details and removal</source>
        <translation>详情与移除</translation>
    </message>
    <message>
        <source>This conversation uses {name}, which is no longer installed; switch it off or add it again.</source>
        <translation>此对话使用了 {name}，但它已不再安装；请关闭它或重新添加。</translation>
    </message>
    <message>
        <source>missing</source>
        <translation>缺失</translation>
    </message>
    <message>
        <source>unreadable</source>
        <translation>无法读取</translation>
    </message>
    <message>
        <source>Switch styles on for this conversation; the scale sets how strongly each one applies.</source>
        <translation>为此对话开启风格；强度决定每种风格的作用大小。</translation>
    </message>
    <message>
        <source>No styles yet: add a GGUF adapter, convert a PEFT folder or train one.</source>
        <translation>还没有风格：可以添加 GGUF 适配器、转换 PEFT 文件夹，或自己训练一个。</translation>
    </message>
    <message>
        <source>Rank {rank} · alpha {alpha} · {architecture}</source>
        <translation>秩 {rank} · alpha {alpha} · {architecture}</translation>
    </message>
    <message>
        <source>Changes {targets} in layers {layers}</source>
        <translation>修改第 {layers} 层的 {targets}</translation>
    </message>
    <message>
        <source>Base model: {base}</source>
        <translation>基础模型：{base}</translation>
    </message>
    <message>
        <source>not recorded</source>
        <translation>未记录</translation>
    </message>
    <message>
        <source>Not switched: {reason}</source>
        <translation>未切换：{reason}</translation>
    </message>
    <message>
        <source>Add a LoRA adapter</source>
        <translation>添加 LoRA 适配器</translation>
    </message>
    <message>
        <source>GGUF LoRA adapters (*.gguf);;All files (*)</source>
        <translation>GGUF LoRA 适配器 (*.gguf);;所有文件 (*)</translation>
    </message>
    <message>
        <source>Choose a PEFT adapter folder</source>
        <translation>选择 PEFT 适配器文件夹</translation>
    </message>
    <message>
        <source>Details…</source>
        <translation>详情…</translation>
    </message>
    <message>
        <source>Remove…</source>
        <translation>移除…</translation>
    </message>
    <message>
        <source>Style {name}</source>
        <translation>风格 {name}</translation>
    </message>
    <message>
        <source>Remove style</source>
        <translation>移除风格</translation>
    </message>
    <message>
        <source>Remove the style {name}? Conversations that use it will ask you to switch it off. A file Inglenook converted, trained or downloaded is deleted; a file you added stays where it is.</source>
        <translation>移除风格 {name}？使用它的对话会提示你将其关闭。由 Inglenook 转换、训练或下载的文件会被删除；你自己添加的文件保留在原处。</translation>
    </message>
</context>
<context>
    <name>LossChart</name>
    <message>
        <source>Training loss</source>
        <translation>训练损失</translation>
    </message>
    <message>
        <source>Held-out loss</source>
        <translation>验证损失</translation>
    </message>
    <message>
        <source>The loss appears here once training starts.</source>
        <translation>训练开始后，损失曲线会显示在这里。</translation>
    </message>
    <message>
        <source>step</source>
        <translation>步数</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <source>The translation file for this language is missing; run scripts/build_translations.py.</source>
        <translation>缺少该语言的翻译文件；请运行 scripts/build_translations.py。</translation>
    </message>
    <message>
        <source>Chat</source>
        <translation>聊天</translation>
    </message>
    <message>
        <source>Library</source>
        <translation>资料库</translation>
    </message>
    <message>
        <source>Models</source>
        <translation>模型</translation>
    </message>
    <message>
        <source>Settings</source>
        <translation>设置</translation>
    </message>
    <message>
        <source>Evaluate</source>
        <translation>评估</translation>
    </message>
    <message>
        <source>Cancel loading</source>
        <translation>取消加载</translation>
    </message>
    <message>
        <source>About</source>
        <translation>关于</translation>
    </message>
    <message>
        <source>About Inglenook: runtime, CPU, GPU, disk and a test reply</source>
        <translation>关于 Inglenook：运行时、CPU、GPU、磁盘和一次试答</translation>
    </message>
    <message>
        <source>Dismiss</source>
        <translation>关闭</translation>
    </message>
    <message>
        <source>Loading {name}…</source>
        <translation>正在加载 {name}…</translation>
    </message>
    <message>
        <source>{name} is loaded ({ms} ms). {offload}</source>
        <translation>{name} 已加载（{ms} 毫秒）。{offload}</translation>
    </message>
    <message>
        <source>Loading was cancelled; no model is loaded.</source>
        <translation>已取消加载；当前没有加载模型。</translation>
    </message>
    <message>
        <source>The model could not be loaded: {error}</source>
        <translation>模型未能加载：{error}</translation>
    </message>
    <message>
        <source>{name} · {model} on {url}</source>
        <translation>{name} · {url} 上的 {model}</translation>
    </message>
    <message>
        <source>{name} · context {n_ctx} · {gpu}</source>
        <translation>{name} · 上下文 {n_ctx} · {gpu}</translation>
    </message>
    <message>
        <source>{n}/{total} layers on the GPU</source>
        <translation>GPU 上 {n}/{total} 层</translation>
    </message>
    <message>
        <source>CPU</source>
        <translation>CPU</translation>
    </message>
    <message>
        <source>No model loaded</source>
        <translation>未加载模型</translation>
    </message>
</context>
<context>
    <name>MessageWidget</name>
    <message>
        <source>You</source>
        <translation>你</translation>
    </message>
    <message>
        <source>Assistant</source>
        <translation>助手</translation>
    </message>
    <message>
        <source>Copy</source>
        <translation>复制</translation>
    </message>
    <message>
        <source>Copy this message</source>
        <translation>复制这条消息</translation>
    </message>
    <message>
        <source>Edit</source>
        <translation>编辑</translation>
    </message>
    <message>
        <source>Edit this message and continue from it</source>
        <translation>编辑这条消息并从这里继续</translation>
    </message>
    <message>
        <source>Regenerate</source>
        <translation>重新生成</translation>
    </message>
    <message>
        <source>Answer again; this answer is kept as another version</source>
        <translation>重新回答；这个回答会作为另一个版本保留</translation>
    </message>
    <message>
        <source>Edit reply</source>
        <translation>修改回复</translation>
    </message>
    <message>
        <source>Write the reply as it should have been; the model&apos;s version is kept, and yours can teach a style</source>
        <translation>把回复改成它应有的样子；模型的原文会保留，你的版本可以用来训练风格</translation>
    </message>
    <message>
        <source>Good reply (used when you make a style from your rated replies)</source>
        <translation>好回复（用评过分的回复训练风格时会用到）</translation>
    </message>
    <message>
        <source>Bad reply (left out of styles made from rated replies)</source>
        <translation>差回复（用评过分的回复训练风格时不会用到）</translation>
    </message>
    <message>
        <source>Answer with quotes</source>
        <translation>用引用回答</translation>
    </message>
    <message>
        <source>Add an answer made of the sentences in the sources that best answer the question, each with its source</source>
        <translation>添加一个回答：由来源中最能回答问题的句子组成，每句都注明来源</translation>
    </message>
    <message>
        <source>Previous version</source>
        <translation>上一个版本</translation>
    </message>
    <message>
        <source>Next version</source>
        <translation>下一个版本</translation>
    </message>
    <message>
        <source>Save and send</source>
        <translation>保存并发送</translation>
    </message>
    <message>
        <source>Save reply</source>
        <translation>保存回复</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <source>stopped</source>
        <translation>已停止</translation>
    </message>
    <message>
        <source>cut off</source>
        <translation>被中断</translation>
    </message>
    <message>
        <source>failed</source>
        <translation>失败</translation>
    </message>
    <message>
        <source>not saved</source>
        <translation>未保存</translation>
    </message>
    <message>
        <source>writing…</source>
        <translation>正在生成…</translation>
    </message>
    <message>
        <source>edited by you</source>
        <translation>已由你修改</translation>
    </message>
    <message>
        <source>The model wrote: {text}</source>
        <translation>模型原来写的是：{text}</translation>
    </message>
    <message>
        <source>{tokens} tokens · {speed} tok/s</source>
        <translation>{tokens} 个词元 · {speed} 词元/秒</translation>
    </message>
    <message>
        <source>style: {names}</source>
        <translation>风格：{names}</translation>
    </message>
    <message>
        <source>No source supports this sentence</source>
        <translation>没有来源支持这句话</translation>
    </message>
    <message>
        <source>No text was produced.</source>
        <translation>没有生成任何文字。</translation>
    </message>
    <message>
        <source>{n} of {total} sentences are not supported by the sources (dotted underline); check them before you rely on them.</source>
        <translation>{total} 句中有 {n} 句没有来源支持（点状下划线）；依赖它们之前请先核实。</translation>
    </message>
</context>
<context>
    <name>MetricChart</name>
    <message>
        <source>The measures appear here as the questions are answered and measured.</source>
        <translation>问题被回答和评分后，指标会显示在这里。</translation>
    </message>
</context>
<context>
    <name>ModelsPage</name>
    <message>
        <source>Models</source>
        <translation>模型</translation>
    </message>
    <message>
        <source>Chat models Inglenook can load. Files you add stay where they are; downloads go to the data folder.</source>
        <translation>Inglenook 可以加载的聊天模型。添加的文件保留在原位置；下载的模型存放在数据文件夹中。</translation>
    </message>
    <message>
        <source>Name</source>
        <translation>名称</translation>
    </message>
    <message>
        <source>Source</source>
        <translation>来源</translation>
    </message>
    <message>
        <source>Size</source>
        <translation>大小</translation>
    </message>
    <message>
        <source>File</source>
        <translation>文件</translation>
    </message>
    <message>
        <source>Built in</source>
        <translation>内置</translation>
    </message>
    <message>
        <source>File on disk</source>
        <translation>本地文件</translation>
    </message>
    <message>
        <source>Downloaded</source>
        <translation>已下载</translation>
    </message>
    <message>
        <source>Remote server</source>
        <translation>远程服务器</translation>
    </message>
    <message>
        <source>Load</source>
        <translation>加载</translation>
    </message>
    <message>
        <source>Add GGUF file…</source>
        <translation>添加 GGUF 文件…</translation>
    </message>
    <message>
        <source>Add a server…</source>
        <translation>添加服务器…</translation>
    </message>
    <message>
        <source>Remove</source>
        <translation>移除</translation>
    </message>
    <message>
        <source>Context size (tokens)</source>
        <translation>上下文长度（词元）</translation>
    </message>
    <message>
        <source>CPU threads</source>
        <translation>CPU 线程数</translation>
    </message>
    <message>
        <source>automatic</source>
        <translation>自动</translation>
    </message>
    <message>
        <source>GPU layers</source>
        <translation>GPU 层数</translation>
    </message>
    <message>
        <source>Automatic (planner)</source>
        <translation>自动（规划器）</translation>
    </message>
    <message>
        <source>All layers</source>
        <translation>全部层</translation>
    </message>
    <message>
        <source>This many:</source>
        <translation>指定层数：</translation>
    </message>
    <message>
        <source>Save settings</source>
        <translation>保存设置</translation>
    </message>
    <message>
        <source>Download from Hugging Face</source>
        <translation>从 Hugging Face 下载</translation>
    </message>
    <message>
        <source>Repository, e.g. bartowski/SmolLM2-360M-Instruct-GGUF</source>
        <translation>仓库，例如 bartowski/SmolLM2-360M-Instruct-GGUF</translation>
    </message>
    <message>
        <source>List files</source>
        <translation>列出文件</translation>
    </message>
    <message>
        <source>Download</source>
        <translation>下载</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <source>Paused downloads</source>
        <translation>暂停的下载</translation>
    </message>
    <message>
        <source>Resume</source>
        <translation>继续</translation>
    </message>
    <message>
        <source>Discard</source>
        <translation>丢弃</translation>
    </message>
    <message>
        <source>From {endpoint}. &lt;a href=&quot;settings&quot;&gt;Change the mirror in Settings&lt;/a&gt;.</source>
        <translation>来源：{endpoint}。&lt;a href=&quot;settings&quot;&gt;在设置中更换镜像&lt;/a&gt;。</translation>
    </message>
    <message>
        <source>Model settings</source>
        <translation>模型设置</translation>
    </message>
    <message>
        <source>Select a model to see its settings.</source>
        <translation>选择一个模型以查看其设置。</translation>
    </message>
    <message>
        <source>Settings for {name}</source>
        <translation>{name} 的设置</translation>
    </message>
    <message>
        <source>{name} (remote server)</source>
        <translation>{name}（远程服务器）</translation>
    </message>
    <message>
        <source>Asking {url} for its models…</source>
        <translation>正在向 {url} 查询其模型…</translation>
    </message>
    <message>
        <source>Its models: {models}</source>
        <translation>其模型：{models}</translation>
    </message>
    <message>
        <source>Not usable now: {problem}</source>
        <translation>目前无法使用：{problem}</translation>
    </message>
    <message>
        <source>Added {name}. Load it to chat through that server.</source>
        <translation>已添加 {name}。加载它即可通过该服务器聊天。</translation>
    </message>
    <message>
        <source>Checking what fits…</source>
        <translation>正在检查内存是否足够…</translation>
    </message>
    <message>
        <source>Fits on the GPU</source>
        <translation>可完全放入 GPU</translation>
    </message>
    <message>
        <source>Partly on the GPU ({n} of {total} layers)</source>
        <translation>部分放入 GPU（{total} 层中的 {n} 层）</translation>
    </message>
    <message>
        <source>Does not fit on the GPU: runs on the CPU</source>
        <translation>GPU 放不下：在 CPU 上运行</translation>
    </message>
    <message>
        <source>CPU only</source>
        <translation>仅 CPU</translation>
    </message>
    <message>
        <source>about {gpu} on the GPU, {cpu} in RAM</source>
        <translation>GPU 约 {gpu}，内存约 {cpu}</translation>
    </message>
    <message>
        <source>about {cpu} in RAM</source>
        <translation>内存约 {cpu}</translation>
    </message>
    <message>
        <source>Saved. The settings apply the next time {name} is loaded.</source>
        <translation>已保存。下次加载 {name} 时生效。</translation>
    </message>
    <message>
        <source>Choose a GGUF model</source>
        <translation>选择 GGUF 模型</translation>
    </message>
    <message>
        <source>GGUF models (*.gguf);;All files (*)</source>
        <translation>GGUF 模型 (*.gguf);;所有文件 (*)</translation>
    </message>
    <message>
        <source>Added {name}.</source>
        <translation>已添加 {name}。</translation>
    </message>
    <message>
        <source>Remove model</source>
        <translation>移除模型</translation>
    </message>
    <message>
        <source>Remove {name} from the list?</source>
        <translation>从列表中移除 {name}？</translation>
    </message>
    <message>
        <source>Remove and delete the file</source>
        <translation>移除并删除文件</translation>
    </message>
    <message>
        <source>Asking the Hub…</source>
        <translation>正在查询 Hub…</translation>
    </message>
    <message>
        <source>This repository has no GGUF files.</source>
        <translation>这个仓库没有 GGUF 文件。</translation>
    </message>
    <message>
        <source>Starting {file}…</source>
        <translation>正在开始下载 {file}…</translation>
    </message>
    <message>
        <source>{file}: {done} of {total} · {rate}/s</source>
        <translation>{file}：{done} / {total} · {rate}/秒</translation>
    </message>
    <message>
        <source>resumed at {size}</source>
        <translation>从 {size} 处继续</translation>
    </message>
    <message>
        <source>Downloaded and verified {name}.</source>
        <translation>已下载并校验 {name}。</translation>
    </message>
    <message>
        <source>{name} is ready: load it here or pick it in the chat.</source>
        <translation>{name} 已就绪：可在这里加载，或在聊天页选择它。</translation>
    </message>
    <message>
        <source>Cancelled. The part already downloaded is kept: resume it below.</source>
        <translation>已取消。已下载的部分会保留：可在下方继续下载。</translation>
    </message>
    <message>
        <source>The download stopped. Anything already downloaded is kept.</source>
        <translation>下载已中断。已下载的部分会保留。</translation>
    </message>
</context>
<context>
    <name>QuestionSetDialog</name>
    <message>
        <source>Question set</source>
        <translation>问题集</translation>
    </message>
    <message>
        <source>Review the questions</source>
        <translation>审阅问题</translation>
    </message>
    <message>
        <source>Each question may have a reference answer and the sources where the answer is (a file name, or file#page; separate several with ;). Check drafts written by the model before you rely on them: fix or delete them, then mark them reviewed.</source>
        <translation>每个问题可以有参考答案和答案所在的来源（文件名，或 文件#页码；多个用 ; 分隔）。使用模型写的草稿之前请先检查：修改或删除它们，然后标记为已审阅。</translation>
    </message>
    <message>
        <source>Open…</source>
        <translation>打开…</translation>
    </message>
    <message>
        <source>Draft from collection:</source>
        <translation>从文档集起草：</translation>
    </message>
    <message>
        <source> questions</source>
        <translation> 个问题</translation>
    </message>
    <message>
        <source>Draft</source>
        <translation>起草</translation>
    </message>
    <message>
        <source>The loaded chat model writes questions and answers from passages of the collection; only answers found in the passage are kept</source>
        <translation>已加载的聊天模型根据文档集中的段落写出问题和答案；只保留能在段落中找到的答案</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <source>Add question</source>
        <translation>添加问题</translation>
    </message>
    <message>
        <source>Delete</source>
        <translation>删除</translation>
    </message>
    <message>
        <source>Mark reviewed</source>
        <translation>标记为已审阅</translation>
    </message>
    <message>
        <source>Save</source>
        <translation>保存</translation>
    </message>
    <message>
        <source>Close</source>
        <translation>关闭</translation>
    </message>
    <message>
        <source>ID</source>
        <translation>编号</translation>
    </message>
    <message>
        <source>Question</source>
        <translation>问题</translation>
    </message>
    <message>
        <source>Reference answer</source>
        <translation>参考答案</translation>
    </message>
    <message>
        <source>Sources</source>
        <translation>来源</translation>
    </message>
    <message>
        <source>Reviewed</source>
        <translation>已审阅</translation>
    </message>
    <message>
        <source>Not saved yet</source>
        <translation>尚未保存</translation>
    </message>
    <message>
        <source>{n} questions, {drafts} not reviewed yet</source>
        <translation>{n} 个问题，{drafts} 个尚未审阅</translation>
    </message>
    <message>
        <source>Open a question set</source>
        <translation>打开问题集</translation>
    </message>
    <message>
        <source>Question sets (*.jsonl);;All files (*)</source>
        <translation>问题集 (*.jsonl);;所有文件 (*)</translation>
    </message>
    <message>
        <source>Two questions have the same ID; give each its own.</source>
        <translation>有两个问题的编号相同；请给每个问题不同的编号。</translation>
    </message>
    <message>
        <source>There is no question to save.</source>
        <translation>没有可保存的问题。</translation>
    </message>
    <message>
        <source>Save the question set</source>
        <translation>保存问题集</translation>
    </message>
    <message>
        <source>Question sets (*.jsonl)</source>
        <translation>问题集 (*.jsonl)</translation>
    </message>
    <message>
        <source>Could not save: {error}</source>
        <translation>无法保存：{error}</translation>
    </message>
    <message>
        <source>Saved {n} questions to {path}</source>
        <translation>已将 {n} 个问题保存到 {path}</translation>
    </message>
    <message>
        <source>Add a collection in the Library first.</source>
        <translation>请先在资料库中添加一个文档集。</translation>
    </message>
    <message>
        <source>Load a model first: it writes the drafts.</source>
        <translation>请先加载模型：草稿由它来写。</translation>
    </message>
    <message>
        <source>Drafting questions from {name}…</source>
        <translation>正在从 {name} 起草问题…</translation>
    </message>
    <message>
        <source>Stopping after the current draft…</source>
        <translation>写完当前草稿后停止…</translation>
    </message>
    <message>
        <source>Tried {done} of {total} passages, kept {kept} drafts</source>
        <translation>已尝试 {done}/{total} 个段落，保留了 {kept} 份草稿</translation>
    </message>
    <message>
        <source>Drafting stopped; {kept} drafts kept. Review them, then save.</source>
        <translation>起草已停止；保留了 {kept} 份草稿。请审阅后保存。</translation>
    </message>
    <message>
        <source>{kept} drafts written. Review them, then save.</source>
        <translation>已写好 {kept} 份草稿。请审阅后保存。</translation>
    </message>
</context>
<context>
    <name>RemoteServerDialog</name>
    <message>
        <source>Add a server</source>
        <translation>添加服务器</translation>
    </message>
    <message>
        <source>Any OpenAI-compatible server can be a model: another computer&apos;s Inglenook (its Local server), llama.cpp&apos;s server, LM Studio, vLLM, Ollama&apos;s /v1…</source>
        <translation>任何兼容 OpenAI 的服务器都可以作为模型：另一台电脑上的 Inglenook（其本地服务器）、llama.cpp 的服务器、LM Studio、vLLM、Ollama 的 /v1…</translation>
    </message>
    <message>
        <source>e.g. office-pc</source>
        <translation>例如 office-pc</translation>
    </message>
    <message>
        <source>none</source>
        <translation>无</translation>
    </message>
    <message>
        <source>Name</source>
        <translation>名称</translation>
    </message>
    <message>
        <source>Base URL</source>
        <translation>基础 URL</translation>
    </message>
    <message>
        <source>API key</source>
        <translation>API 密钥</translation>
    </message>
    <message>
        <source>Test connection</source>
        <translation>测试连接</translation>
    </message>
    <message>
        <source>Add</source>
        <translation>添加</translation>
    </message>
    <message>
        <source>Type the server&apos;s base URL first, e.g. http://127.0.0.1:8080/v1.</source>
        <translation>请先输入服务器的基础 URL，例如 http://127.0.0.1:8080/v1。</translation>
    </message>
    <message>
        <source>Asking {url} for its models…</source>
        <translation>正在向 {url} 查询其模型…</translation>
    </message>
    <message>
        <source>Not usable: {problem}</source>
        <translation>无法使用：{problem}</translation>
    </message>
    <message>
        <source>Connected. Its models: {models}</source>
        <translation>已连接。其模型：{models}</translation>
    </message>
    <message>
        <source>Connected, but the server lists no models.</source>
        <translation>已连接，但该服务器没有列出任何模型。</translation>
    </message>
    <message>
        <source>Give the server a name to choose it by.</source>
        <translation>请为服务器起一个名称，以便选择它。</translation>
    </message>
    <message>
        <source>Not added: {problem}</source>
        <translation>未添加：{problem}</translation>
    </message>
</context>
<context>
    <name>ServerControl</name>
    <message>
        <source>There is no OS keyring here, so the key is kept only until Inglenook closes (it is never saved in plain text).</source>
        <translation>此处没有系统密钥环，因此密钥只保留到 Inglenook 关闭为止（绝不以明文保存）。</translation>
    </message>
    <message>
        <source>Listening on {host} lets other machines use the model: set an API key first (Generate), or use 127.0.0.1.</source>
        <translation>在 {host} 上监听会让其他机器使用该模型：请先设置 API 密钥（生成），或使用 127.0.0.1。</translation>
    </message>
    <message>
        <source>The API key is too short; use at least 8 characters, or Generate one.</source>
        <translation>API 密钥太短；请至少使用 8 个字符，或生成一个。</translation>
    </message>
</context>
<context>
    <name>ServerPanel</name>
    <message>
        <source>Local server</source>
        <translation>本地服务器</translation>
    </message>
    <message>
        <source>Serve the loaded model to other apps (OpenAI-compatible API)</source>
        <translation>向其他应用提供已加载的模型（兼容 OpenAI 的 API）</translation>
    </message>
    <message>
        <source>Address and port</source>
        <translation>地址和端口</translation>
    </message>
    <message>
        <source>Apply</source>
        <translation>应用</translation>
    </message>
    <message>
        <source>API key</source>
        <translation>API 密钥</translation>
    </message>
    <message>
        <source>none (this computer only)</source>
        <translation>无（仅限本机）</translation>
    </message>
    <message>
        <source>Show</source>
        <translation>显示</translation>
    </message>
    <message>
        <source>Generate</source>
        <translation>生成</translation>
    </message>
    <message>
        <source>Copy</source>
        <translation>复制</translation>
    </message>
    <message>
        <source>Base URL</source>
        <translation>基础 URL</translation>
    </message>
    <message>
        <source>Status</source>
        <translation>状态</translation>
    </message>
    <message>
        <source>Requests (newest first)</source>
        <translation>请求（最新的在前）</translation>
    </message>
    <message>
        <source>Time</source>
        <translation>时间</translation>
    </message>
    <message>
        <source>Method</source>
        <translation>方法</translation>
    </message>
    <message>
        <source>Path</source>
        <translation>路径</translation>
    </message>
    <message>
        <source>Duration</source>
        <translation>耗时</translation>
    </message>
    <message>
        <source>Model</source>
        <translation>模型</translation>
    </message>
    <message>
        <source>Tokens</source>
        <translation>词元</translation>
    </message>
    <message>
        <source>The key is kept in the OS keyring. Clients send it as &apos;Authorization: Bearer &lt;key&gt;&apos; (the openai client&apos;s api_key).</source>
        <translation>密钥保存在系统密钥环中。客户端以 &apos;Authorization: Bearer &lt;key&gt;&apos; 发送它（即 openai 客户端的 api_key）。</translation>
    </message>
    <message>
        <source>There is no OS keyring here: the key is kept only until Inglenook closes, never saved in plain text.</source>
        <translation>此处没有系统密钥环：密钥只保留到 Inglenook 关闭为止，绝不以明文保存。</translation>
    </message>
    <message>
        <source>Without a key the server listens on this computer only (127.0.0.1); any other address needs one.</source>
        <translation>没有密钥时，服务器只在本机（127.0.0.1）上监听；其他任何地址都需要密钥。</translation>
    </message>
    <message>
        <source>Off</source>
        <translation>关闭</translation>
    </message>
    <message>
        <source>Starting…</source>
        <translation>正在开始…</translation>
    </message>
    <message>
        <source>Stopping…</source>
        <translation>正在停止…</translation>
    </message>
    <message>
        <source>Running at {url}</source>
        <translation>正在运行：{url}</translation>
    </message>
    <message>
        <source>Not running: {problem}</source>
        <translation>未运行：{problem}</translation>
    </message>
</context>
<context>
    <name>SettingsDrawer</name>
    <message>
        <source>Conversation settings</source>
        <translation>对话设置</translation>
    </message>
    <message>
        <source>Preset</source>
        <translation>预设</translation>
    </message>
    <message>
        <source>System prompt</source>
        <translation>系统提示词</translation>
    </message>
    <message>
        <source>Leave empty to use the preset&apos;s or the default system prompt.</source>
        <translation>留空则使用预设的或默认的系统提示词。</translation>
    </message>
    <message>
        <source>Sampling</source>
        <translation>采样参数</translation>
    </message>
    <message>
        <source>Temperature</source>
        <translation>温度</translation>
    </message>
    <message>
        <source>Top P</source>
        <translation>Top P</translation>
    </message>
    <message>
        <source>Top K</source>
        <translation>Top K</translation>
    </message>
    <message>
        <source>Min P</source>
        <translation>Min P</translation>
    </message>
    <message>
        <source>Repeat penalty</source>
        <translation>重复惩罚</translation>
    </message>
    <message>
        <source>Max tokens</source>
        <translation>最大词元数</translation>
    </message>
    <message>
        <source>Seed</source>
        <translation>随机种子</translation>
    </message>
    <message>
        <source>random</source>
        <translation>随机</translation>
    </message>
    <message>
        <source>off</source>
        <translation>关闭</translation>
    </message>
    <message>
        <source>Reset to defaults</source>
        <translation>恢复默认值</translation>
    </message>
    <message>
        <source>JSON schema</source>
        <translation>JSON 模式（Schema）</translation>
    </message>
    <message>
        <source>Paste a JSON schema to make every reply a JSON document that follows it. Leave empty for free text.</source>
        <translation>粘贴一个 JSON Schema，每条回复都将是符合它的 JSON 文档。留空则为自由文本。</translation>
    </message>
    <message>
        <source>Higher is more varied, 0 always picks the likeliest word.</source>
        <translation>越高越多样；为 0 时总是选择最可能的词。</translation>
    </message>
    <message>
        <source>No preset</source>
        <translation>无预设</translation>
    </message>
    <message>
        <source>my-replies</source>
        <translation>我的回复</translation>
    </message>
    <message>
        <source>{n} examples from your rated replies ({liked} liked, {edited} edited).</source>
        <translation>来自你评过分的回复的 {n} 个样例（{liked} 个点赞，{edited} 个修改过）。</translation>
    </message>
</context>
<context>
    <name>SettingsPage</name>
    <message>
        <source>Settings</source>
        <translation>设置</translation>
    </message>
    <message>
        <source>Appearance</source>
        <translation>外观</translation>
    </message>
    <message>
        <source>Theme</source>
        <translation>主题</translation>
    </message>
    <message>
        <source>Light</source>
        <translation>浅色</translation>
    </message>
    <message>
        <source>Dark</source>
        <translation>深色</translation>
    </message>
    <message>
        <source>Language</source>
        <translation>语言</translation>
    </message>
    <message>
        <source>Font size (points)</source>
        <translation>字号（磅）</translation>
    </message>
    <message>
        <source>Models</source>
        <translation>模型</translation>
    </message>
    <message>
        <source>CPU threads</source>
        <translation>CPU 线程数</translation>
    </message>
    <message>
        <source>automatic ({n})</source>
        <translation>自动（{n}）</translation>
    </message>
    <message>
        <source>Used when a model is loaded; a model&apos;s own setting on the Models page wins. More threads than physical cores is usually slower.</source>
        <translation>加载模型时使用；模型页中单个模型的设置优先。线程数超过物理核心数通常会更慢。</translation>
    </message>
    <message>
        <source>Downloads</source>
        <translation>下载</translation>
    </message>
    <message>
        <source>Hub address</source>
        <translation>Hub 地址</translation>
    </message>
    <message>
        <source>Use a mirror</source>
        <translation>使用镜像</translation>
    </message>
    <message>
        <source>Leave empty for Hugging Face. Where it is slow or blocked, a mirror such as {mirror} works the same way.</source>
        <translation>留空则使用 Hugging Face。访问缓慢或受限时，可使用 {mirror} 等镜像，用法相同。</translation>
    </message>
    <message>
        <source>Data folder</source>
        <translation>数据文件夹</translation>
    </message>
    <message>
        <source>Open</source>
        <translation>打开</translation>
    </message>
    <message>
        <source>Change…</source>
        <translation>更改…</translation>
    </message>
    <message>
        <source>Chats, settings and downloaded models are kept here.</source>
        <translation>对话、设置和下载的模型都保存在这里。</translation>
    </message>
    <message>
        <source>It is set by the INGLENOOK_HOME environment variable.</source>
        <translation>它由环境变量 INGLENOOK_HOME 指定。</translation>
    </message>
    <message>
        <source>From the next start: {path}.</source>
        <translation>下次启动起使用：{path}。</translation>
    </message>
    <message>
        <source>Choose the data folder</source>
        <translation>选择数据文件夹</translation>
    </message>
    <message>
        <source>Inglenook will use {path} from the next start. Your chats so far stay in {old}; copy inglenook.db over to take them along.</source>
        <translation>Inglenook 下次启动时将使用 {path}。之前的对话仍保存在 {old}；如需带走，请把 inglenook.db 复制过去。</translation>
    </message>
</context>
<context>
    <name>SourcesBlock</name>
    <message>
        <source>1 source</source>
        <translation>1 个出处</translation>
    </message>
    <message>
        <source>{n} sources</source>
        <translation>{n} 个出处</translation>
    </message>
    <message>
        <source>page {page}</source>
        <translation>第 {page} 页</translation>
    </message>
    <message>
        <source>{path} no longer exists; re-index the collection it came from.</source>
        <translation>{path} 已不存在；请重新索引它所在的文档集。</translation>
    </message>
    <message>
        <source>No application could open {path}.</source>
        <translation>没有应用程序能打开 {path}。</translation>
    </message>
</context>
<context>
    <name>TrainingDialog</name>
    <message>
        <source>Train a style</source>
        <translation>训练风格</translation>
    </message>
    <message>
        <source>Train a style (LoRA)</source>
        <translation>训练风格（LoRA）</translation>
    </message>
    <message>
        <source>Teach the model a style from examples: a JSONL file with one example a line, {&quot;prompt&quot;: &quot;…&quot;, &quot;reply&quot;: &quot;…&quot;} or {&quot;messages&quot;: […]}. About 100 examples teach a style well. Training runs on this computer; with a small model it takes minutes, and a tenth of the examples is held out to check progress.</source>
        <translation>用示例教模型一种风格：一个 JSONL 文件，每行一个示例，格式为 {&quot;prompt&quot;: &quot;…&quot;, &quot;reply&quot;: &quot;…&quot;} 或 {&quot;messages&quot;: […]}。大约 100 个示例就能学好一种风格。训练在本机进行，小模型只需几分钟；其中十分之一的示例会留作验证，用来检查进展。</translation>
    </message>
    <message>
        <source>Examples (JSONL)</source>
        <translation>示例（JSONL）</translation>
    </message>
    <message>
        <source>Name</source>
        <translation>名称</translation>
    </message>
    <message>
        <source>Epochs</source>
        <translation>轮数</translation>
    </message>
    <message>
        <source>Learning rate</source>
        <translation>学习率</translation>
    </message>
    <message>
        <source>Rank</source>
        <translation>秩</translation>
    </message>
    <message>
        <source>Batch size</source>
        <translation>批大小</translation>
    </message>
    <message>
        <source>Max length</source>
        <translation>最大长度</translation>
    </message>
    <message>
        <source>Choose…</source>
        <translation>选择…</translation>
    </message>
    <message>
        <source>A .jsonl file of examples</source>
        <translation>一个 .jsonl 示例文件</translation>
    </message>
    <message>
        <source>e.g. pirate</source>
        <translation>例如 pirate</translation>
    </message>
    <message>
        <source>Size of the adapter: higher learns more and is slower (alpha is twice the rank)</source>
        <translation>适配器的大小：越大学得越多，也越慢（alpha 为秩的两倍）</translation>
    </message>
    <message>
        <source>Passes over the examples; training stops early when the held-out loss stops improving</source>
        <translation>遍历示例的次数；验证损失不再下降时会提前停止</translation>
    </message>
    <message>
        <source> tokens</source>
        <translation> 个词元</translation>
    </message>
    <message>
        <source>Longer examples are cut to this length</source>
        <translation>更长的示例会被截断到这个长度</translation>
    </message>
    <message>
        <source>Start training</source>
        <translation>开始训练</translation>
    </message>
    <message>
        <source>Base model: {name} (the adapter only fits this model)</source>
        <translation>基础模型：{name}（适配器只适用于此模型）</translation>
    </message>
    <message>
        <source>No model to train for: add a model first.</source>
        <translation>没有可训练的模型：请先添加模型。</translation>
    </message>
    <message>
        <source>Cancel training</source>
        <translation>取消训练</translation>
    </message>
    <message>
        <source>Close</source>
        <translation>关闭</translation>
    </message>
    <message>
        <source>Choose the examples</source>
        <translation>选择示例</translation>
    </message>
    <message>
        <source>JSON Lines (*.jsonl *.json);;All files (*)</source>
        <translation>JSON Lines (*.jsonl *.json);;所有文件 (*)</translation>
    </message>
    <message>
        <source>Choose a file of examples first.</source>
        <translation>请先选择示例文件。</translation>
    </message>
    <message>
        <source>Give the style a name.</source>
        <translation>请给风格起个名字。</translation>
    </message>
    <message>
        <source>Training could not start; see the message at the top of the window.</source>
        <translation>训练无法开始，请查看窗口顶部的消息。</translation>
    </message>
    <message>
        <source>Starting…</source>
        <translation>正在启动…</translation>
    </message>
    <message>
        <source>Stopping after the current step…</source>
        <translation>将在当前步骤后停止…</translation>
    </message>
    <message>
        <source>Loading the base model…</source>
        <translation>正在加载基础模型…</translation>
    </message>
    <message>
        <source>Training</source>
        <translation>训练中</translation>
    </message>
    <message>
        <source>Checking the held-out examples</source>
        <translation>正在用验证示例检查</translation>
    </message>
    <message>
        <source>Writing the adapter…</source>
        <translation>正在写入适配器…</translation>
    </message>
    <message>
        <source>Done</source>
        <translation>完成</translation>
    </message>
    <message>
        <source>step {step}/{total}</source>
        <translation>第 {step}/{total} 步</translation>
    </message>
    <message>
        <source>epoch {epoch}</source>
        <translation>第 {epoch} 轮</translation>
    </message>
    <message>
        <source>loss {loss}</source>
        <translation>损失 {loss}</translation>
    </message>
    <message>
        <source>best held-out {loss}</source>
        <translation>最佳验证损失 {loss}</translation>
    </message>
    <message>
        <source>about {eta} left</source>
        <translation>约剩 {eta}</translation>
    </message>
    <message>
        <source> It stopped early: the held-out loss no longer improved.</source>
        <translation>训练已提前停止：验证损失不再下降。</translation>
    </message>
    <message>
        <source>Trained {name} in {time}: held-out loss {before} → {after}.{early} It is registered: switch it on under Styles (LoRA) in the conversation settings.</source>
        <translation>{name} 训练完成，用时 {time}：验证损失 {before} → {after}。{early}它已登记，可在对话设置的“风格（LoRA）”中开启。</translation>
    </message>
    <message>
        <source>Cancelled</source>
        <translation>已取消</translation>
    </message>
    <message>
        <source>Training was cancelled; nothing was written.</source>
        <translation>训练已取消，没有写入任何文件。</translation>
    </message>
    <message>
        <source>The examples need fixing</source>
        <translation>示例需要修正</translation>
    </message>
    <message>
        <source>Training is not installed</source>
        <translation>未安装训练组件</translation>
    </message>
    <message>
        <source>Training failed</source>
        <translation>训练失败</translation>
    </message>
    <message>
        <source>Stop training?</source>
        <translation>停止训练？</translation>
    </message>
    <message>
        <source>A style is being trained. Stop it? Nothing is written; you can start again later.</source>
        <translation>正在训练一个风格。要停止吗？不会写入任何文件，你可以稍后重新开始。</translation>
    </message>
</context>
<context>
    <name>WelcomePage</name>
    <message>
        <source>Welcome to Inglenook</source>
        <translation>欢迎使用 Inglenook</translation>
    </message>
    <message>
        <source>Chat with AI models that run entirely on this computer. Nothing you type leaves it.</source>
        <translation>与完全在这台电脑上运行的 AI 模型聊天。你输入的内容不会离开这台电脑。</translation>
    </message>
    <message>
        <source>Start with the built-in model</source>
        <translation>从内置模型开始</translation>
    </message>
    <message>
        <source>SmolLM2 135M Instruct comes with Inglenook: small and quick, good for trying things out.</source>
        <translation>Inglenook 自带 SmolLM2 135M Instruct：小巧快速，适合上手体验。</translation>
    </message>
    <message>
        <source>Start chatting</source>
        <translation>开始聊天</translation>
    </message>
    <message>
        <source>Use a model file you have</source>
        <translation>使用已有的模型文件</translation>
    </message>
    <message>
        <source>Any GGUF chat model on this computer, for example one downloaded for another app.</source>
        <translation>这台电脑上的任意 GGUF 聊天模型，例如为其他应用下载的模型。</translation>
    </message>
    <message>
        <source>Choose a GGUF file…</source>
        <translation>选择 GGUF 文件…</translation>
    </message>
    <message>
        <source>Download a model</source>
        <translation>下载模型</translation>
    </message>
    <message>
        <source>Get a GGUF from Hugging Face or a mirror of it. Interrupted downloads resume.</source>
        <translation>从 Hugging Face 或其镜像获取 GGUF 模型。中断的下载可以续传。</translation>
    </message>
    <message>
        <source>Open the model manager</source>
        <translation>打开模型管理</translation>
    </message>
    <message>
        <source>The built-in model is not installed. Run scripts/setup.sh, or use one of the other options.</source>
        <translation>内置模型未安装。请运行 scripts/setup.sh，或选择其他方式。</translation>
    </message>
    <message>
        <source>You can switch models at any time from the chat page.</source>
        <translation>你随时可以在聊天页切换模型。</translation>
    </message>
    <message>
        <source>Choose a GGUF model</source>
        <translation>选择 GGUF 模型</translation>
    </message>
    <message>
        <source>GGUF models (*.gguf);;All files (*)</source>
        <translation>GGUF 模型 (*.gguf);;所有文件 (*)</translation>
    </message>
</context>
</TS>
