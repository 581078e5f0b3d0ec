"""The assertions of the VXP CCXML 1.0 suite, by section of the
Recommendation (numbering as in the W3C CCXML implementation report:
4 session life-cycle, 6 document control flow, 7 dialogs, 8 variables and
expressions, 9 event handling, 10 call control)."""
from xml.sax.saxutils import quoteattr

INBOUND = '''
[inbound]
remote = "sip:alice@example.com"
local = "sip:1000@vxp.example"
headers = { X-Foo = "bar" }
'''

# No inbound call: the session starts as from an external launch.
NO_CALL = '''
startupmode = "external"
'''

DIALOG = '''<?xml version="1.0" encoding="UTF-8"?>
<vxml version="2.1" xmlns="http://www.w3.org/2001/vxml">
  <form><block><exit/></block></form>
</vxml>
'''

SELF = 'target="session.id" targettype="\'ccxml\'"'


def send(name, extra=""):
    return '<send name=%s %s%s/>' % (quoteattr("'" + name + "'"), SELF, extra)


def register(g):
    test, loaded, expr_test, error_test = g.test, g.loaded, g.expr_test, g.error_test
    on, ep, check, fail, PASS = g.on, g.ep, g.check, g.fail, g.PASS

    # ---- 4 session life-cycle ---------------------------------------------
    loaded("4", "A session starts by loading its initial document and delivers ccxml.loaded to it.", PASS)
    expr_test("4", "A session started by an incoming call has session.startupmode 'newcall'.", "",
              "session.startupmode == 'newcall'")
    loaded("4", "A session started without a call (external launch) has session.startupmode 'external'.",
           check("session.startupmode == 'external'"), scenario=NO_CALL)
    test("4", "A session started by an incoming call owns that call's connection: connection.alerting is delivered.",
         ep(on("connection.alerting", PASS)))
    test("4", "An event with no matching transition is discarded and the session continues.",
         ep(on("ccxml.loaded", send("nobody.listens") + send("test.next")) + on("test.next", PASS)))
    test("4", "A transition matching ccxml.kill handles it and the session continues.",
         ep(on("ccxml.loaded", send("ccxml.kill") + send("test.after")) + on("ccxml.kill", '<assign name="reason" expr="\'handled\'"/>')
            + on("test.after", check("reason == 'handled'"))))
    test("4", "Events are processed one at a time in the order they were queued.",
         ep(on("ccxml.loaded", send("test.a") + send("test.b") + send("test.c"))
            + on("test.a", '<assign name="seq" expr="seq + \'a\'"/>')
            + on("test.b", '<assign name="seq" expr="seq + \'b\'"/>')
            + on("test.c", check("seq == 'ab'")), pre='<var name="seq" expr="\'\'"/>'))
    test("4", "An event raised while a transition runs is processed only after that transition completes.",
         ep(on("ccxml.loaded", send("test.a") + '<assign name="done" expr="true"/>')
            + on("test.a", check("done == true", "test.a ran before its sending transition ended")),
            pre='<var name="done" expr="false"/>'))
    test("4", "ccxml.loaded is the first event the document sees, before connection.alerting of the incoming call.",
         ep(on("ccxml.loaded", '<assign name="first" expr="\'loaded\'"/>')
            + on("connection.alerting", check("first == 'loaded'", "connection.alerting came before ccxml.loaded")),
            pre='<var name="first" expr="\'\'"/>'))

    # ---- 6.1 / 6.2.1 <ccxml> ----------------------------------------------
    test("6.2.1", "Children of <ccxml> outside the eventprocessor run in document order before the first event.",
         '<var name="a" expr="1"/><script>var b = a + 1;</script><var name="c" expr="b * 10"/>'
         + ep(on("ccxml.loaded", check("c == 20"))))
    test("6.2.1", "The CCXML namespace http://www.w3.org/2002/09/ccxml may be bound to a prefix.",
         "", attrs="")
    g.TESTS.pop()
    g.TESTS.append(("6.2.1", "The CCXML namespace http://www.w3.org/2002/09/ccxml may be bound to a prefix.",
                    '<?xml version="1.0" encoding="UTF-8"?>\n<cc:ccxml version="1.0" xmlns:cc="http://www.w3.org/2002/09/ccxml">'
                    '<cc:var name="reason" expr="\'\'"/><cc:eventprocessor><cc:transition event="ccxml.loaded">'
                    '<cc:exit expr="\'pass\'"/></cc:transition></cc:eventprocessor></cc:ccxml>\n', {}, None))
    loaded("6.2.1", "A document declaring version 1.0 and the default CCXML namespace is executed.", PASS)
    test("6.2.1", "xml:base on <ccxml> is the base of relative URIs in the document.",
         ep(on("ccxml.loaded", '<fetch next="\'b.ccxml\'" fetchid="fid"/>')
            + on("fetch.done", '<goto fetchid="fid"/>') + on("error.fetch", fail("xml:base not used"))),
         files={"sub/b.ccxml": (ep(on("ccxml.loaded", PASS)),)}, attrs=' xml:base="sub/"')
    g.TESTS[-1] = g.TESTS[-1][:2] + (g.TESTS[-1][2].replace('<var name="reason" expr="\'\'"/>', '<var name="reason" expr="\'\'"/><var name="fid"/>'),) + g.TESTS[-1][3:]
    test("6.2.1", "A document that is not well-formed cannot start a session: its creator gets error.createccxml.",
         ep(on("ccxml.loaded", '<createccxml next="\'bad.ccxml\'" sessionid="sid"/>')
            + on("error.createccxml", PASS) + on("ccxml.created", fail("a malformed document started"))
            , pre='<var name="sid"/>', errors=True),
         files={"bad.ccxml": '<?xml version="1.0"?>\n<ccxml version="1.0" xmlns="http://www.w3.org/2002/09/ccxml"><eventprocessor></ccxml>\n'})

    # ---- 6.2.2 / 6.2.3 meta, metadata -----------------------------------------
    loaded("6.2.2", "A document may contain <meta name content> elements; they do not change execution.", PASS,
           pre='<meta name="author" content="VXP"/><meta name="maintainer" content="ops@vxp.example"/>')
    loaded("6.2.2", "A <meta http-equiv content> element is accepted.", PASS,
           pre='<meta http-equiv="Cache-Control" content="no-cache"/>')
    loaded("6.2.3", "A document may contain a <metadata> element with arbitrary XML content.", PASS,
           pre='<metadata><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
               '<rdf:Description rdf:about="x"/></rdf:RDF></metadata>')

    # ---- 6.2.4-6.2.6 if / elseif / else -------------------------------------------------
    expr_test("6.2.4", "<if> executes its content when cond is true.", '<if cond="1 == 1"><assign name="reason" expr="\'then\'"/></if>', "reason == 'then'")
    loaded("6.2.4", "<if> skips its content when cond is false.",
           '<if cond="1 == 2">' + fail("false branch ran") + '</if>' + PASS)
    loaded("6.2.6", "<else> content runs when the if condition is false.",
           '<if cond="false">' + fail("if branch ran") + '<else/>' + PASS + '</if>')
    loaded("6.2.5", "The first <elseif> whose cond is true runs.",
           '<if cond="false">' + fail("if") + '<elseif cond="false"/>' + fail("first elseif")
           + '<elseif cond="true"/>' + PASS + '<else/>' + fail("else") + '</if>')
    loaded("6.2.5", "Only one branch of an if/elseif/else runs even when several conditions are true.",
           '<var name="n" expr="0"/><if cond="true"><assign name="n" expr="n+1"/><elseif cond="true"/><assign name="n" expr="n+10"/>'
           '<else/><assign name="n" expr="n+100"/></if>' + check("n == 1"))
    loaded("6.2.4", "The cond of <if> is converted to a boolean (a non-zero number is true).",
           '<if cond="7">' + PASS + '<else/>' + fail("7 was false") + '</if>')
    loaded("6.2.4", "<if> elements nest.",
           '<if cond="true"><if cond="false">' + fail("inner") + '<else/>' + PASS + '</if></if>')
    error_test("6.2.4", "A cond that cannot be evaluated raises error.semantic.",
               '<if cond="no_such_variable.x == 1"><assign name="reason" expr="\'x\'"/></if>')

    # ---- 6.2.7 fetch / 6.2.8 goto -----------------------------------------------------------
    B_PASS = (ep(g.on("ccxml.loaded", PASS)),)
    pre_fid = '<var name="fid"/>'
    test("6.2.7", "<fetch> retrieves a document and raises fetch.done when it is ready.",
         ep(on("ccxml.loaded", '<fetch next="\'b.ccxml\'" fetchid="fid"/>') + on("fetch.done", PASS), pre_fid),
         files={"b.ccxml": B_PASS})
    test("6.2.7", "fetchid receives the fetch's identifier, equal to event$.fetchid in fetch.done.",
         ep(on("ccxml.loaded", '<fetch next="\'b.ccxml\'" fetchid="fid"/>') + on("fetch.done", check("event$.fetchid == fid && typeof fid != 'undefined'")), pre_fid),
         files={"b.ccxml": B_PASS})
    test("6.2.7", "fetch.done carries the fetched URI in event$.uri.",
         ep(on("ccxml.loaded", '<fetch next="\'b.ccxml\'" fetchid="fid"/>') + on("fetch.done", check("String(event$.uri).indexOf('b.ccxml') >= 0")), pre_fid),
         files={"b.ccxml": B_PASS})
    test("6.2.7", "<fetch> is asynchronous: the transition continues after it, before fetch.done.",
         ep(on("ccxml.loaded", '<fetch next="\'b.ccxml\'" fetchid="fid"/><assign name="after" expr="true"/>')
            + on("fetch.done", check("after == true")), pre_fid + '<var name="after" expr="false"/>'),
         files={"b.ccxml": B_PASS})
    test("6.2.7", "A fetch of a document that does not exist raises error.fetch with the fetchid.",
         ep(on("ccxml.loaded", '<fetch next="\'missing.ccxml\'" fetchid="fid"/>') + on("error.fetch", check("event$.fetchid == fid"))
            + on("fetch.done", fail("fetch.done for a missing document")), pre_fid, errors=False))
    test("6.2.7", "A fetch of a document that is not well-formed raises error.fetch.",
         ep(on("ccxml.loaded", '<fetch next="\'bad.ccxml\'" fetchid="fid"/>') + on("error.fetch", PASS)
            + on("fetch.done", fail("fetch.done for a malformed document")), pre_fid, errors=False),
         files={"bad.ccxml": '<?xml version="1.0"?>\n<ccxml version="1.0" xmlns="http://www.w3.org/2002/09/ccxml"><eventprocessor>\n'})
    test("6.2.7", "error.fetch carries a reason.",
         ep(on("ccxml.loaded", '<fetch next="\'missing.ccxml\'" fetchid="fid"/>')
            + on("error.fetch", check("typeof event$.reason == 'string'")), pre_fid, errors=False))
    test("6.2.7", "The next attribute of <fetch> is an ECMAScript expression.",
         ep(on("ccxml.loaded", '<var name="n" expr="\'b\'"/><fetch next="n + \'.ccxml\'" fetchid="fid"/>') + on("fetch.done", PASS), pre_fid),
         files={"b.ccxml": B_PASS})
    test("6.2.7", "A relative fetch URI resolves against the current document's URI.",
         ep(on("ccxml.loaded", '<fetch next="\'sub/b.ccxml\'" fetchid="fid"/>') + on("fetch.done", '<goto fetchid="fid"/>'), pre_fid),
         files={"sub/b.ccxml": B_PASS})
    test("6.2.7", "Several fetches may be outstanding; each completes with its own fetch.done.",
         ep(on("ccxml.loaded", '<fetch next="\'b.ccxml\'" fetchid="f1"/><fetch next="\'c.ccxml\'" fetchid="f2"/>')
            + on("fetch.done", '<assign name="n" expr="n + 1"/><if cond="n == 2">' + check("f1 != f2") + '</if>'),
            '<var name="f1"/><var name="f2"/><var name="n" expr="0"/>'),
         files={"b.ccxml": B_PASS, "c.ccxml": B_PASS})
    test("6.2.7", "A fetch with a namelist sends the named variables with the request and still completes.",
         ep(on("ccxml.loaded", '<var name="k" expr="\'v\'"/><fetch next="\'b.ccxml\'" namelist="k" fetchid="fid"/>')
            + on("fetch.done", PASS), pre_fid),
         files={"b.ccxml": B_PASS})
    error_test("6.2.7", "A <fetch> whose next expression cannot be evaluated raises error.semantic.",
               '<fetch next="undefined_var_q + \'.ccxml\'" fetchid="fid"/>', pre=pre_fid)
    test("6.1", "A session may consist of several documents traversed with <fetch> and <goto>.",
         ep(on("ccxml.loaded", '<fetch next="\'b.ccxml\'" fetchid="fid"/>') + on("fetch.done", '<goto fetchid="fid"/>'), pre_fid),
         files={"b.ccxml": B_PASS})
    test("6.2.8", "After <goto>, the new document receives ccxml.loaded.",
         ep(on("ccxml.loaded", '<fetch next="\'b.ccxml\'" fetchid="fid"/>') + on("fetch.done", '<goto fetchid="fid"/>'), pre_fid),
         files={"b.ccxml": (ep(on("ccxml.loaded", check("event$.name == 'ccxml.loaded'"))),)})
    test("6.2.8", "After <goto>, ccxml-scope variables of the previous document are gone.",
         ep(on("ccxml.loaded", '<fetch next="\'b.ccxml\'" fetchid="fid"/>') + on("fetch.done", '<goto fetchid="fid"/>'),
            pre_fid + '<var name="old_doc_var" expr="1"/>'),
         files={"b.ccxml": (ep(on("ccxml.loaded", check("typeof old_doc_var == 'undefined'"))),)})
    test("6.2.8", "After <goto>, the session keeps its id and its connections.",
         ep(on("connection.alerting", '<assign name="session_id_before" expr="session.id"/><assign name="cid" expr="event$.connectionid"/>'
               '<fetch next="\'b.ccxml\'" fetchid="fid" namelist="cid"/>')
            + on("fetch.done", '<goto fetchid="fid"/>'), pre_fid + '<var name="session_id_before"/><var name="cid"/>'),
         files={"b.ccxml": (ep(on("ccxml.loaded", '<var name="n" expr="0"/><script>for (var k in session.connections) n++;</script>' + check("n == 1"))),)})
    test("6.2.8", "After <goto>, the statevariable of the new document starts as that document declares it.",
         ep(on("ccxml.loaded", '<assign name="st" expr="\'old\'"/><fetch next="\'b.ccxml\'" fetchid="fid"/>') + on("fetch.done", '<goto fetchid="fid"/>'),
            pre_fid + '<var name="st" expr="\'init\'"/>', statevariable="st"),
         files={"b.ccxml": (ep(on("ccxml.loaded", PASS, state="fresh") + on("ccxml.loaded", fail("state not reset"))
                                , '<var name="st" expr="\'fresh\'"/>', statevariable="st"),)})
    error_test("6.2.8", "<goto> with a fetchid that names no completed fetch raises error.semantic.",
               '<goto fetchid="\'no-such-fetch\'"/>')
    test("6.2.8", "Executable content after <goto> in the same transition is not executed.",
         ep(on("ccxml.loaded", '<fetch next="\'b.ccxml\'" fetchid="fid"/>') + on("fetch.done", '<goto fetchid="fid"/>' + fail("content after goto ran")), pre_fid),
         files={"b.ccxml": B_PASS})
    test("6.2.7", "A fetched ECMAScript resource is run by <script fetchid>.",
         ep(on("ccxml.loaded", '<fetch next="\'lib.js\'" type="\'text/ecmascript\'" fetchid="fid"/>')
            + on("fetch.done", '<script fetchid="fid"/>' + check("typeof libValue != 'undefined' && libValue == 42")), pre_fid),
         files={"lib.js": "var libValue = 42;\n"})

    # ---- 6.2.9 createccxml --------------------------------------------------------------------
    test("6.2.9", "<createccxml> starts a new session and ccxml.created reports it.",
         ep(on("ccxml.loaded", '<createccxml next="\'child.ccxml\'" sessionid="sid"/>') + on("ccxml.created", PASS), '<var name="sid"/>'),
         files={"child.ccxml": (ep(on("ccxml.loaded", "<exit/>")),)})
    test("6.2.9", "The sessionid attribute receives the new session's id, equal to event$.sessionid in ccxml.created.",
         ep(on("ccxml.loaded", '<createccxml next="\'child.ccxml\'" sessionid="sid"/>')
            + on("ccxml.created", check("event$.sessionid == sid && sid != session.id")), '<var name="sid"/>'),
         files={"child.ccxml": (ep(on("ccxml.loaded", "<exit/>")),)})
    test("6.2.9", "A session created by <createccxml> has session.startupmode 'createccxml' and knows its parent.",
         ep(on("ccxml.loaded", '<createccxml next="\'child.ccxml\'" sessionid="sid"/>')
            + on("child.result", check("event$.ok == 'yes'")), '<var name="sid"/>'),
         files={"child.ccxml": (ep(on("ccxml.loaded", '<var name="ok" expr="(session.startupmode == \'createccxml\' &amp;&amp; session.parentid != undefined) ? \'yes\' : \'no\'"/>'
                                        '<send name="\'child.result\'" target="session.parentid" targettype="\'ccxml\'" namelist="ok"/><exit/>')),)})
    test("6.2.9", "A child session's <exit> sends ccxml.exit to its parent.",
         ep(on("ccxml.loaded", '<createccxml next="\'child.ccxml\'" sessionid="sid"/>') + on("ccxml.exit", check("event$.sessionid == sid")), '<var name="sid"/>'),
         files={"child.ccxml": (ep(on("ccxml.loaded", "<exit/>")),)})
    test("6.2.9", "<createccxml> of a document that cannot be fetched raises error.createccxml.",
         ep(on("ccxml.loaded", '<createccxml next="\'missing.ccxml\'" sessionid="sid"/>') + on("error.createccxml", PASS)
            + on("ccxml.created", fail("created from a missing document")), '<var name="sid"/>', errors=False))

    # ---- 6.2.10 exit ------------------------------------------------------------------------------
    loaded("6.2.10", "The expr of <exit> is evaluated (the exit value is 'pa' + 'ss').", '<exit expr="\'pa\' + \'ss\'"/>')
    loaded("6.2.10", "<exit> ends the session immediately: content after it is not executed.",
           PASS + fail("content after exit ran"))
    test("6.2.10", "<exit> ends the session: events still queued are not processed.",
         ep(on("ccxml.loaded", send("test.later") + PASS) + on("test.later", fail("event after exit"))))
    loaded("6.2.10", "<exit> with a namelist is accepted and ends the session with its expr.",
           '<var name="detail" expr="\'x\'"/><exit expr="\'pass\'" namelist="detail"/>')
    test("6.2.10", "<exit> inside a nested if ends the session.",
         ep(on("ccxml.loaded", '<if cond="true"><if cond="true">' + PASS + '</if></if>' + fail("continued"))))

    # ---- 6.2.11 log ------------------------------------------------------------------------------
    loaded("6.2.11", "<log expr> evaluates its expression and does not change control flow.", '<log expr="\'value \' + (1+2)"/>' + PASS)
    loaded("6.2.11", "<log> accepts a label expression.", '<log label="\'conformance\'" expr="\'labelled\'"/>' + PASS)
    error_test("6.2.11", "A <log> expr that cannot be evaluated raises error.semantic.", '<log expr="no_such_var_x.y"/>')

    # ---- 6.3 events of document control -------------------------------------------------------
    expr_test("6.4", "ccxml.loaded carries event$.sessionid equal to session.id.", "", "event$.sessionid == session.id")
    expr_test("6.4", "ccxml.loaded carries event$.name 'ccxml.loaded'.", "", "event$.name == 'ccxml.loaded'")

    # ---- 7 dialogs ------------------------------------------------------------------------------
    DF = {"dialog.vxml": DIALOG}
    ACC = on("connection.alerting", "<accept/>")
    dpre = '<var name="did"/><var name="cid"/>'
    START = on("connection.connected", '<assign name="cid" expr="event$.connectionid"/><dialogstart src="\'dialog.vxml\'" connectionid="cid" dialogid="did"/>')
    START_DEFAULT = on("connection.connected", '<assign name="cid" expr="event$.connectionid"/><dialogstart src="\'dialog.vxml\'" dialogid="did"/>')

    def dlg(spec, text, transitions, scenario=None, pre="", start=START):
        test(spec, text, ep(ACC + start + transitions, dpre + pre), DF, scenario)

    dlg("7.2.2", "<dialogstart> on a connection raises dialog.started.", on("dialog.started", PASS))
    dlg("7.2.2", "The dialogid attribute receives the dialog's id, equal to event$.dialogid of dialog.started.",
        on("dialog.started", check("typeof did == 'string' && event$.dialogid == did")))
    dlg("7.2.2", "dialog.started carries the connectionid the dialog runs on.", on("dialog.started", check("event$.connectionid == cid")))
    dlg("7.2.2", "Without connectionid, <dialogstart> uses event$.connectionid of the current event.",
        on("dialog.started", check("session.dialogs[did].connectionid == cid")), start=START_DEFAULT)
    dlg("7.2.2", "<dialogstart> with an explicit connectionid starts the dialog on that connection.",
        on("dialog.started", check("event$.connectionid == cid")),
        start=on("connection.connected", '<assign name="cid" expr="event$.connectionid"/>' + send("test.go"))
        + on("test.go", '<dialogstart src="\'dialog.vxml\'" connectionid="cid" dialogid="did"/>'))
    dlg("7.2.2", "When the dialog ends, dialog.exit is raised with the dialogid.", on("dialog.exit", check("event$.dialogid == did")))
    dlg("7.2.2", "dialog.exit carries the connectionid of the dialog.", on("dialog.exit", check("event$.connectionid == cid")))
    dlg("7.3", "Values the dialog returns are in event$.values of dialog.exit.",
        on("dialog.exit", check("event$.values.k == 'v' && event$.values.n == '7'")),
        scenario=INBOUND + '\n[dialogs."*"]\nexit_values = { k = "v", n = "7" }\n')
    dlg("7.2.2", "dialog.exit follows dialog.started.",
        on("dialog.started", '<assign name="reason" expr="\'started\'"/>') + on("dialog.exit", check("reason == 'started'", "dialog.exit before dialog.started")))
    dlg("7.3", "session.dialogs holds the running dialog by its id.",
        on("dialog.started", check("session.dialogs[did] != undefined && session.dialogs[did].dialogid == did")))
    dlg("7.3", "The Dialog object records its connectionid and src.",
        on("dialog.started", check("session.dialogs[did].connectionid == cid && String(session.dialogs[did].src).indexOf('dialog.vxml') >= 0")))
    dlg("7.3", "The Dialog object's type defaults to application/voicexml+xml.",
        on("dialog.started", check("session.dialogs[did].type == 'application/voicexml+xml'")))
    dlg("7.3", "After dialog.exit the dialog is no longer in session.dialogs.",
        on("dialog.exit", check("session.dialogs[did] == undefined")))
    dlg("7.2.2", "dialog.started carries the Dialog object in event$.dialog.",
        on("dialog.started", check("event$.dialog != undefined && event$.dialog.dialogid == did")))
    dlg("7.2.3", "<dialogterminate> ends a running dialog, which then raises dialog.exit.",
        on("dialog.started", '<dialogterminate dialogid="did"/>') + on("dialog.exit", check("event$.dialogid == did")),
        scenario=INBOUND + '\n[dialogs."*"]\nafter_ms = 60000\n')
    dlg("7.2.3", "<dialogterminate immediate='true'> ends the dialog with dialog.exit.",
        on("dialog.started", '<dialogterminate dialogid="did" immediate="true"/>') + on("dialog.exit", PASS),
        scenario=INBOUND + '\n[dialogs."*"]\nafter_ms = 60000\n')
    test("7.2.3", "<dialogterminate> of an unknown dialog raises an error event.",
         ep(on("ccxml.loaded", '<dialogterminate dialogid="\'no-such-dialog\'"/>') + on("error.*", PASS), errors=False))
    dlg("7.2.1", "<dialogprepare> raises dialog.prepared with the prepared dialog's id.",
        on("dialog.prepared", check("event$.dialogid == did")),
        start=on("connection.connected", '<dialogprepare src="\'dialog.vxml\'" connectionid="event$.connectionid" dialogid="did"/>'))
    dlg("7.2.1", "<dialogstart prepareddialogid> starts a prepared dialog, keeping its id.",
        on("dialog.prepared", '<dialogstart prepareddialogid="did"/>') + on("dialog.started", check("event$.dialogid == did")),
        start=on("connection.connected", '<assign name="cid" expr="event$.connectionid"/><dialogprepare src="\'dialog.vxml\'" dialogid="did"/>'))
    dlg("7.2.1", "A prepared dialog that is not started does not run: no dialog.started before <dialogstart>.",
        on("dialog.prepared", send("test.check", ' delay="\'2s\'"')) + on("dialog.started", fail("prepared dialog started by itself"))
        + on("test.check", PASS),
        start=on("connection.connected", '<dialogprepare src="\'dialog.vxml\'" connectionid="event$.connectionid" dialogid="did"/>'))
    dlg("7.3", "A dialog that raises a user event reaches the session as dialog.user.<name>.",
        on("dialog.user.*", check("event$.dialogid == did")),
        scenario=INBOUND + '\n[dialogs."*"]\noutcome = "user"\n')
    dlg("7.3", "A dialog requesting a transfer reaches the session as dialog.transfer.",
        on("dialog.transfer", check("event$.dialogid == did")),
        scenario=INBOUND + '\n[dialogs."*"]\noutcome = "transfer"\n')
    dlg("7.3", "A dialog that cannot start raises error.dialog.notstarted (prefix error.dialog).",
        on("error.dialog", PASS) + on("dialog.started", fail("dialog.started for a failing dialog")),
        scenario=INBOUND + '\n[dialogs."*"]\noutcome = "error"\n')
    dlg("7.2.2", "The src attribute of <dialogstart> is an ECMAScript expression.",
        on("dialog.started", PASS),
        start=on("connection.connected", '<var name="page" expr="\'dialog\'"/><dialogstart src="page + \'.vxml\'" connectionid="event$.connectionid" dialogid="did"/>'))
    dlg("7.2.2", "<dialogstart> with a namelist starts the dialog.",
        on("dialog.started", PASS),
        start=on("connection.connected", '<var name="caller" expr="\'alice\'"/><dialogstart src="\'dialog.vxml\'" namelist="caller" connectionid="event$.connectionid" dialogid="did"/>'))
    dlg("7.2.2", "Two dialogs started one after the other get distinct ids.",
        on("dialog.exit", '<if cond="first == undefined"><assign name="first" expr="did"/><dialogstart src="\'dialog.vxml\'" connectionid="cid" dialogid="did"/>'
           '<else/>' + check("first != did") + '</if>'), pre='<var name="first"/>')
    test("7.2.2", "<dialogstart> on an unknown connection raises an error event.",
         ep(on("ccxml.loaded", '<dialogstart src="\'dialog.vxml\'" connectionid="\'no-such-connection\'"/>') + on("error.*", PASS)
            + on("dialog.started", fail("dialog started on an unknown connection")), errors=False),
         files=DF, scenario=NO_CALL)
    error_test("7.2.2", "A <dialogstart> src expression that cannot be evaluated raises error.semantic.",
               '<dialogstart src="nope_var_z" dialogid="did"/>', pre=dpre, trigger="connection.alerting")
    dlg("7.2.2", "The Connection a dialog runs on records the dialog's id in its dialogid property.",
        on("dialog.started", check("session.connections[cid].dialogid == did")))

    # ---- 8 variables and expressions ---------------------------------------------------------------
    expr_test("8.2.1", "A <var> without expr declares a variable whose value is undefined.", '<var name="x"/>', "typeof x == 'undefined'")
    expr_test("8.2.1", "A <var> with expr holds the expression's value.", '<var name="x" expr="6*7"/>', "x == 42")
    expr_test("8.2.1", "A <var> outside the eventprocessor is in the ccxml scope, visible in transitions.", "", "top == 'ccxml'",
              pre='<var name="top" expr="\'ccxml\'"/>')
    expr_test("8.2.1", "A ccxml-scope variable is reachable as ccxml.name.", "", "ccxml.top == 't'", pre='<var name="top" expr="\'t\'"/>')
    test("8.2.1", "A <var> inside a transition is in the transition scope and gone in the next transition.",
         ep(on("ccxml.loaded", '<var name="tv" expr="1"/>' + send("test.next")) + on("test.next", check("typeof tv == 'undefined'"))))
    expr_test("8.2.1", "A transition-scope variable hides a ccxml-scope variable of the same name.",
              '<var name="x" expr="\'inner\'"/>', "x == 'inner' && ccxml.x == 'outer'", pre='<var name="x" expr="\'outer\'"/>')
    test("8.2.1", "ccxml-scope variables keep their values between transitions.",
         ep(on("ccxml.loaded", '<assign name="counter" expr="counter + 1"/>' + send("test.next"))
            + on("test.next", check("counter == 1")), pre='<var name="counter" expr="0"/>'))
    error_test("8.2.1", "A <var> expr that cannot be evaluated raises error.semantic.", '<var name="x" expr="missing_thing.y"/>')
    expr_test("8.2.2", "<assign> changes a declared variable.", '<var name="x" expr="1"/><assign name="x" expr="x + 1"/>', "x == 2")
    expr_test("8.2.2", "<assign> to a property of an object variable sets that property.",
              '<var name="o" expr="new Object()"/><assign name="o.k" expr="\'v\'"/>', "o.k == 'v'")
    expr_test("8.2.2", "<assign> to ccxml.name changes the ccxml-scope variable.",
              '<assign name="ccxml.x" expr="5"/>', "x == 5", pre='<var name="x" expr="1"/>')
    error_test("8.2.2", "<assign> to an undeclared variable raises error.semantic.", '<assign name="never_declared_v" expr="1"/>')
    error_test("8.2.2", "An <assign> expr that cannot be evaluated raises error.semantic.",
               '<var name="x"/><assign name="x" expr="undefined_fn_q()"/>')
    error_test("8.3", "Session variables are read-only: assigning session.id raises error.semantic.",
               '<assign name="session.id" expr="\'changed\'"/>')
    expr_test("8.2.3", "An inline <script> runs and its declarations are visible afterwards.",
              '<script>var sq = function (n) { return n * n; }; var r = sq(9);</script>', "r == 81")
    expr_test("8.2.3", "A top-level <script> defines functions usable in every transition.", "", "twice(4) == 8",
              pre='<script>function twice(n) { return 2 * n; }</script>')
    expr_test("8.2.3", "A <script src> is fetched and run.", "", "fromFile == 'loaded'",
              pre='<script src="lib.js"/>')
    g.TESTS[-1] = g.TESTS[-1][:3] + ({"lib.js": "var fromFile = 'loaded';\n"},) + g.TESTS[-1][4:]
    error_test("8.2.3", "A <script> with a syntax error raises error.semantic.", '<script>var = ;</script>')
    error_test("8.2.3", "A <script> that throws raises error.semantic.", '<script>throw new Error("boom");</script>')
    expr_test("8.2.3", "Variables declared with var in a transition <script> belong to the transition scope.",
              '<script>var sv = 3;</script>', "sv == 3 && typeof ccxml.sv == 'undefined'")
    expr_test("8.2.3", "A <script> can change ccxml-scope variables.", '<script>ccxml.counter = 10;</script>', "counter == 10",
              pre='<var name="counter" expr="0"/>')
    expr_test("8.3", "session.id is a non-empty string.", "", "typeof session.id == 'string' && session.id.length > 0")
    expr_test("8.3", "session.uri is the URI of the session's initial document.", "", "String(session.uri).indexOf('.ccxml') > 0")
    expr_test("8.3", "session.connections is an object (associative array).", "", "typeof session.connections == 'object'")
    expr_test("8.3", "session.conferences is an object (associative array).", "", "typeof session.conferences == 'object'")
    expr_test("8.3", "session.dialogs is an object (associative array).", "", "typeof session.dialogs == 'object'")
    expr_test("8.3", "session.ioprocessors is an object naming the event I/O processors.", "", "typeof session.ioprocessors == 'object'")
    expr_test("8.3", "session.ioprocessors holds the URI of the basichttp event I/O processor.", "",
              "typeof session.ioprocessors['basichttp'] == 'string'")
    expr_test("8.3", "The session scope is reachable as session.", "", "typeof session == 'object'")
    expr_test("8.3", "The application scope object exists.", "", "typeof application == 'object'")
    expr_test("8.1", "ECMAScript arrays and objects are usable in expressions.", '<var name="a" expr="[1, {k: 2}, 3]"/>', "a.length == 3 && a[1].k == 2")
    expr_test("8.1", "ECMAScript string methods are available.", '<var name="s" expr="\'Hello\'.toUpperCase()"/>', "s == 'HELLO'")
    expr_test("8.1", "Standard ECMAScript built-ins (Math, Date, parseInt) are available.",
              "", "Math.max(1, 3) == 3 && typeof new Date().getTime() == 'number' && parseInt('12', 10) == 12")
    test("8.1", "Empty ECMAScript objects can be created and filled across transitions.",
         ep(on("ccxml.loaded", '<assign name="o.a" expr="1"/>' + send("test.next")) + on("test.next", '<assign name="o.b" expr="2"/>' + check("o.a + o.b == 3")),
            pre='<var name="o" expr="new Object()"/>'))
    expr_test("8.2.1", "A <var> declared again in the same scope takes the new value.",
              '<var name="x" expr="1"/><var name="x" expr="2"/>', "x == 2")
    expr_test("8.2.1", "A variable name may be any valid ECMAScript identifier ($ and _ included).",
              '<var name="_a$b" expr="1"/>', "_a$b == 1")
    expr_test("8.3", "session.startupmode is one of newcall, external, createccxml.", "",
              "['newcall', 'external', 'createccxml'].indexOf(session.startupmode) >= 0")

    # ---- 9.2.1 eventprocessor / statevariable -------------------------------------------------------
    sv = '<var name="st" expr="\'init\'"/>'
    test("9.2.1", "A transition with a state attribute matches only when the statevariable has that value.",
         ep(on("ccxml.loaded", fail("state mismatch matched"), state="other") + on("ccxml.loaded", PASS, state="init"), sv, statevariable="st"))
    test("9.2.1", "The state attribute may list several space-separated states.",
         ep(on("ccxml.loaded", PASS, state="a init b"), sv, statevariable="st"))
    test("9.2.1", "A transition without a state attribute matches in any state.",
         ep(on("ccxml.loaded", PASS), sv, statevariable="st"))
    test("9.2.1", "Assigning the statevariable changes which transitions match next.",
         ep(on("ccxml.loaded", '<assign name="st" expr="\'two\'"/>' + send("test.e"), state="init")
            + on("test.e", fail("old state matched"), state="init") + on("test.e", PASS, state="two"), sv, statevariable="st"))
    test("9.2.1", "The statevariable is an ordinary ccxml-scope variable readable in expressions.",
         ep(on("ccxml.loaded", check("st == 'init' && ccxml.st == 'init'")), sv, statevariable="st"))
    test("9.2.1", "When the statevariable is undefined, transitions with a state attribute do not match.",
         ep(on("ccxml.loaded", fail("state matched an undefined statevariable"), state="init") + on("ccxml.loaded", PASS),
            '<var name="st"/>', statevariable="st"))
    test("9.2.1", "An eventprocessor without statevariable runs transitions without state attributes.",
         ep(on("ccxml.loaded", PASS)))

    # ---- 9.2.2 transition ---------------------------------------------------------------------------
    test("9.2.2", "Transitions are tried in document order; the first match runs.",
         ep(on("ccxml.loaded", PASS) + on("ccxml.loaded", fail("second transition ran"))))
    test("9.2.2", "Only one transition runs per event.",
         ep(on("ccxml.loaded", '<assign name="n" expr="n + 1"/>' + send("test.check")) + on("ccxml.loaded", '<assign name="n" expr="n + 10"/>')
            + on("test.check", check("n == 1")), pre='<var name="n" expr="0"/>'))
    test("9.2.2", "A transition whose cond is false is skipped and the next match runs.",
         ep(on("ccxml.loaded", fail("false cond ran"), cond="false") + on("ccxml.loaded", PASS)))
    test("9.2.2", "cond may refer to event$.",
         ep(on("ccxml.loaded", fail("cond ignored"), cond="event$.name == 'other'") + on("ccxml.loaded", PASS, cond="event$.name == 'ccxml.loaded'")))
    test("9.2.2", "An event attribute of * matches every event.",
         ep(on("*", check("event$.name == 'ccxml.loaded'"))))
    test("9.2.2", "A pattern ending in .* matches events with that prefix.",
         ep(on("ccxml.loaded", send("app.group.item")) + on("app.*", check("event$.name == 'app.group.item'"))))
    test("9.2.2", "A pattern is matched on whole dot-separated tokens: app.gr does not match app.group.",
         ep(on("ccxml.loaded", send("app.group")) + on("app.gr.*", fail("partial token matched")) + on("app.group", PASS)))
    test("9.2.2", "The name attribute makes the event object available under that name.",
         ep(on("ccxml.loaded", check("evt.name == 'ccxml.loaded'"), name="evt")))
    test("9.2.2", "event$ holds the event being processed inside a transition.",
         ep(on("ccxml.loaded", send("test.x")) + on("test.x", check("event$.name == 'test.x'"))))
    test("9.2.2", "A transition's cond that cannot be evaluated raises error.semantic.",
         ep(on("ccxml.loaded", fail("bad cond ran"), cond="nope_var_w.x") + on("error.semantic", PASS), errors=False))
    test("9.2.2", "A transition matching a prefix and one matching exactly: the first in document order wins.",
         ep(on("ccxml.loaded", send("test.order")) + on("test.*", PASS) + on("test.order", fail("document order ignored"))))
    test("9.2.2", "Event names are matched as written: a transition for test.a does not match test.ab.",
         ep(on("ccxml.loaded", send("test.ab")) + on("test.a", fail("test.a matched test.ab")) + on("test.ab", PASS)))
    test("9.2.2", "A cond and a state must both hold for a transition to run.",
         ep(on("ccxml.loaded", fail("cond ignored"), state="init", cond="false") + on("ccxml.loaded", PASS, state="init"),
            sv, statevariable="st"))
    test("9.2.2", "A transition may be empty; the event is consumed and the session continues.",
         ep(on("ccxml.loaded", send("test.empty") + send("test.next")) + on("test.empty", "") + on("test.next", PASS)))

    # ---- 9.2.3 send ---------------------------------------------------------------------------------
    test("9.2.3", "<send> to the session's own id with targettype ccxml delivers the event to it.",
         ep(on("ccxml.loaded", send("test.self")) + on("test.self", PASS)))
    test("9.2.3", "Variables in a <send> namelist become properties of the delivered event.",
         ep(on("ccxml.loaded", '<var name="a" expr="\'one\'"/><var name="b" expr="2"/>' + send("test.nl", ' namelist="a b"'))
            + on("test.nl", check("event$.a == 'one' && event$.b == 2"))))
    test("9.2.3", "The sendid attribute receives an id; send.successful reports the same id.",
         ep(on("ccxml.loaded", send("test.x", ' sendid="sid"')) + on("send.successful", check("event$.sendid == sid && sid != undefined")),
            pre='<var name="sid"/>'))
    test("9.2.3", "A <send> with a delay delivers the event after events sent without delay.",
         ep(on("ccxml.loaded", send("test.late", ' delay="\'1s\'"') + send("test.early"))
            + on("test.early", '<assign name="seq" expr="seq + \'e\'"/>') + on("test.late", check("seq == 'e'")),
            pre='<var name="seq" expr="\'\'"/>'))
    test("9.2.3", "Delays are honoured in order: a 1s event arrives before a 2s event sent first.",
         ep(on("ccxml.loaded", send("test.two", ' delay="\'2s\'"') + send("test.one", ' delay="\'1s\'"'))
            + on("test.one", '<assign name="seq" expr="seq + \'1\'"/>') + on("test.two", check("seq == '1'")),
            pre='<var name="seq" expr="\'\'"/>'))
    test("9.2.3", "A delay in milliseconds (CSS2 time) is accepted.",
         ep(on("ccxml.loaded", send("test.ms", ' delay="\'500ms\'"')) + on("test.ms", PASS)))
    test("9.2.3", "The name attribute of <send> is an ECMAScript expression.",
         ep(on("ccxml.loaded", '<var name="n" expr="\'test.\' + \'dyn\'"/><send name="n" ' + SELF + '/>') + on("test.dyn", PASS)))
    test("9.2.3", "An event sent with <send> carries eventsourcetype 'ccxml' and the sender's session id as eventsource.",
         ep(on("ccxml.loaded", send("test.src")) + on("test.src", check("event$.eventsourcetype == 'ccxml' && event$.eventsource == session.id"))))
    test("9.2.3", "<send> to a session that does not exist raises error.send.targetunavailable.",
         ep(on("ccxml.loaded", '<send name="\'test.x\'" target="\'no-such-session\'" targettype="\'ccxml\'"/>')
            + on("error.send.targetunavailable", PASS) + on("error.send", fail_any()), errors=False))
    test("9.2.3", "<send> with an unknown targettype raises error.send.targettypeinvalid.",
         ep(on("ccxml.loaded", '<send name="\'test.x\'" target="session.id" targettype="\'no-such-type\'"/>')
            + on("error.send.targettypeinvalid", PASS) + on("error.send", fail_any()), errors=False))
    test("9.2.3", "<send> with targettype basichttp posts the event to a URL and reports send.successful.",
         ep(on("ccxml.loaded", '<var name="a" expr="1"/><send name="\'app.notify\'" target="\'http://127.0.0.1:9/sink\'" targettype="\'basichttp\'" namelist="a" sendid="sid"/>')
            + on("send.successful", check("event$.sendid == sid")), pre='<var name="sid"/>'))
    test("9.2.3", "An event posted into the session by the basichttp event I/O processor is delivered with its fields.",
         ep(on("myapp.go", check("event$.a == '1'"))),
         scenario=INBOUND + '\n[[events]]\nat_ms = 1000\nkind = "event"\nname = "myapp.go"\nfields = { a = "1" }\n')
    test("9.2.3", "An event from the basichttp event I/O processor has eventsourcetype 'basichttp'.",
         ep(on("myapp.go", check("event$.eventsourcetype == 'basichttp'"))),
         scenario=INBOUND + '\n[[events]]\nat_ms = 1000\nkind = "event"\nname = "myapp.go"\nfields = { a = "1" }\n')
    test("9.2.3", "targettype defaults to ccxml.",
         ep(on("ccxml.loaded", '<send name="\'test.def\'" target="session.id"/>') + on("test.def", PASS)))
    error_test("9.2.3", "A <send> whose name expression cannot be evaluated raises error.semantic.",
               '<send name="not_declared_n" ' + SELF + '/>')
    test("9.2.3", "An event sent to self may be handled by a prefix pattern and read its namelist fields.",
         ep(on("ccxml.loaded", '<var name="k" expr="\'kv\'"/>' + send("app.data.ready", ' namelist="k"')) + on("app.*", check("event$.k == 'kv'"))))

    # ---- 9.2.5 cancel -------------------------------------------------------------------------------
    test("9.2.5", "<cancel> of a delayed send prevents its delivery.",
         ep(on("ccxml.loaded", send("test.cancelled", ' delay="\'1s\'" sendid="sid"') + '<cancel sendid="sid"/>' + send("test.done", ' delay="\'2s\'"'))
            + on("test.cancelled", fail("cancelled event delivered")) + on("test.done", PASS), pre='<var name="sid"/>'))
    test("9.2.5", "<cancel> affects only the named send.",
         ep(on("ccxml.loaded", send("test.a", ' delay="\'1s\'" sendid="s1"') + send("test.b", ' delay="\'1s\'" sendid="s2"') + '<cancel sendid="s1"/>')
            + on("test.a", fail("cancelled event delivered")) + on("test.b", PASS), pre='<var name="s1"/><var name="s2"/>'))
    test("9.2.5", "<cancel> of an unknown sendid raises an error event.",
         ep(on("ccxml.loaded", '<cancel sendid="\'no-such-send\'"/>') + on("error.*", PASS), errors=False))
    test("9.2.5", "The sendid of <cancel> is an ECMAScript expression.",
         ep(on("ccxml.loaded", send("test.c", ' delay="\'1s\'" sendid="sid"') + '<var name="alias" expr="sid"/><cancel sendid="alias"/>' + send("test.done", ' delay="\'2s\'"'))
            + on("test.c", fail("cancelled event delivered")) + on("test.done", PASS), pre='<var name="sid"/>'))

    # ---- 9.2.4 move ---------------------------------------------------------------------------------
    test("9.2.4", "<move> to a session that does not exist raises an error event.",
         ep(on("connection.alerting", '<move source="event$.connectionid" sessionid="\'no-such-session\'"/>') + on("error.*", PASS), errors=False))
    test("9.2.4", "<move> of an event source this session does not own raises an error event.",
         ep(on("ccxml.loaded", '<move source="\'no-such-connection\'" sessionid="session.id"/>') + on("error.*", PASS), errors=False),
         scenario=NO_CALL)

    # ---- 9.3 / 9.4 event objects and errors ----------------------------------------------------------
    expr_test("9.3", "Every event has a name property.", "", "typeof event$.name == 'string'")
    expr_test("9.3", "Every event has an eventid property.", "", "event$.eventid != undefined")
    test("9.3", "Two events have different eventids.",
         ep(on("ccxml.loaded", '<assign name="first" expr="event$.eventid"/>' + send("test.next")) + on("test.next", check("event$.eventid != first")),
            pre='<var name="first"/>'))
    expr_test("9.3", "Platform events carry eventsourcetype.", "", "event$.eventsourcetype != undefined")
    test("9.3", "connection.* events have eventsourcetype and a name starting with connection.",
         ep(on("connection.alerting", check("event$.name == 'connection.alerting' && event$.eventsourcetype != undefined"))))
    test("9.4", "error.semantic carries a reason and the tagname of the failing element.",
         ep(on("ccxml.loaded", '<assign name="undeclared_q" expr="1"/>') + on("error.semantic", check("typeof event$.reason == 'string' && event$.tagname == 'assign'")), errors=False))
    test("9.4", "An error in a transition stops the rest of that transition.",
         ep(on("ccxml.loaded", '<assign name="undeclared_q" expr="1"/><assign name="reached" expr="true"/>')
            + on("error.semantic", check("reached == false", "content after the error ran")), pre='<var name="reached" expr="false"/>', errors=False))
    test("9.4", "An error raised in one transition is delivered as an event that a later transition handles.",
         ep(on("ccxml.loaded", '<assign name="undeclared_q" expr="1"/>') + on("error.*", check("event$.name == 'error.semantic'")), errors=False))
    test("9.4", "An unhandled error.* event ends the session (no later event is processed).",
         ep(on("ccxml.loaded", send("test.after", ' delay="\'1s\'"') + '<assign name="undeclared_q" expr="1"/>')
            + on("test.after", fail("session survived an unhandled error")), errors=False))
    g.TESTS.pop()  # its verdict would be the ending, which the single verdict rule cannot tell apart

    # ---- 10 call control: inbound --------------------------------------------------------------------
    IN = INBOUND
    test("10.2.3", "An incoming call raises connection.alerting with a connectionid.",
         ep(on("connection.alerting", check("typeof event$.connectionid == 'string' && event$.connectionid.length > 0"))), scenario=IN)
    test("10.2.3", "connection.alerting carries the Connection object in event$.connection.",
         ep(on("connection.alerting", check("event$.connection.connectionid == event$.connectionid"))), scenario=IN)
    test("10.2.2", "The Connection object of an incoming call gives the caller in remote.",
         ep(on("connection.alerting", check("String(event$.connection.remote).indexOf('alice') >= 0"))), scenario=IN)
    test("10.2.2", "The Connection object of an incoming call gives the called address in local.",
         ep(on("connection.alerting", check("String(event$.connection.local).indexOf('1000') >= 0"))), scenario=IN)
    test("10.2.2", "The Connection object of an incoming call has originator 'remote'.",
         ep(on("connection.alerting", check("event$.connection.originator == 'remote'"))), scenario=IN)
    test("10.2.2", "The alerting connection is in session.connections under its id.",
         ep(on("connection.alerting", check("session.connections[event$.connectionid] != undefined"))), scenario=IN)
    test("10.2.2", "The Connection of an alerting call is in state ALERTING.",
         ep(on("connection.alerting", check("String(event$.connection.state).toUpperCase().indexOf('ALERTING') >= 0 || event$.connection.state == Connection.ALERTING"))), scenario=IN)
    test("10.2.2", "connection.alerting carries protocol information naming the protocol.",
         ep(on("connection.alerting", check("event$.connection.protocol != undefined && typeof event$.connection.protocol.name == 'string'"))), scenario=IN)
    test("10.5.1", "<accept> answers an alerting call: connection.connected follows.",
         ep(on("connection.alerting", "<accept/>") + on("connection.connected", PASS)), scenario=IN)
    test("10.5.1", "connection.connected carries the accepted connection's id.",
         ep(on("connection.alerting", '<assign name="cid" expr="event$.connectionid"/><accept/>') + on("connection.connected", check("event$.connectionid == cid")),
            pre='<var name="cid"/>'), scenario=IN)
    test("10.5.1", "<accept connectionid> answers the named connection.",
         ep(on("connection.alerting", '<assign name="cid" expr="event$.connectionid"/>' + send("test.go"))
            + on("test.go", '<accept connectionid="cid"/>') + on("connection.connected", check("event$.connectionid == cid")), pre='<var name="cid"/>'), scenario=IN)
    test("10.5.1", "After connection.connected the Connection is in state CONNECTED.",
         ep(on("connection.alerting", "<accept/>") + on("connection.connected", check("String(event$.connection.state).toUpperCase().indexOf('CONNECTED') >= 0 || event$.connection.state == Connection.CONNECTED"))), scenario=IN)
    test("10.5.1", "<accept> of a connection that does not exist raises error.semantic.",
         ep(on("ccxml.loaded", '<accept connectionid="\'no-such-connection\'"/>') + on("error.*", check("event$.name == 'error.semantic'"))
            + on("connection.connected", fail("connected an unknown connection")), errors=False), scenario=NO_CALL)
    test("10.5.1", "<accept> of an already connected connection raises an error event.",
         ep(on("connection.alerting", "<accept/>") + on("connection.connected", '<accept connectionid="event$.connectionid"/>')
            + on("error.*", PASS), errors=False), scenario=IN)
    test("10.5.1", "<accept> is asynchronous: the transition continues and connection.connected comes later.",
         ep(on("connection.alerting", '<accept/><assign name="after" expr="true"/>') + on("connection.connected", check("after == true")),
            pre='<var name="after" expr="false"/>'), scenario=IN)
    test("10.5.9", "<reject> refuses an alerting call: connection.failed follows.",
         ep(on("connection.alerting", "<reject/>") + on("connection.failed", PASS) + on("connection.connected", fail("rejected call connected"))),
         scenario=IN)
    test("10.5.9", "connection.failed after <reject> carries the connection id.",
         ep(on("connection.alerting", '<assign name="cid" expr="event$.connectionid"/><reject/>') + on("connection.failed", check("event$.connectionid == cid")),
            pre='<var name="cid"/>'), scenario=IN)
    test("10.5.9", "<reject> of a connection that does not exist raises error.semantic.",
         ep(on("ccxml.loaded", '<reject connectionid="\'no-such-connection\'"/>') + on("error.*", check("event$.name == 'error.semantic'")), errors=False), scenario=NO_CALL)
    test("10.5.9", "<reject> with a reason expression is accepted.",
         ep(on("connection.alerting", '<reject reason="\'busy\'"/>') + on("connection.failed", PASS)), scenario=IN)
    test("10.5.8", "<redirect> of an alerting call raises connection.redirected.",
         ep(on("connection.alerting", '<redirect dest="\'sip:bob@example.com\'"/>') + on("connection.redirected", PASS)), scenario=IN)
    test("10.5.8", "connection.redirected carries the connection id.",
         ep(on("connection.alerting", '<assign name="cid" expr="event$.connectionid"/><redirect dest="\'tel:+15550100\'"/>')
            + on("connection.redirected", check("event$.connectionid == cid")), pre='<var name="cid"/>'), scenario=IN)
    test("10.5.8", "<redirect> of a connection that does not exist raises error.semantic.",
         ep(on("ccxml.loaded", '<redirect connectionid="\'no-such-connection\'" dest="\'sip:bob@example.com\'"/>') + on("error.*", check("event$.name == 'error.semantic'")), errors=False),
         scenario=NO_CALL)
    test("10.5.8", "The dest of <redirect> is an ECMAScript expression.",
         ep(on("connection.alerting", '<var name="d" expr="\'sip:\' + \'bob@example.com\'"/><redirect dest="d"/>') + on("connection.redirected", PASS)),
         scenario=IN)
    error_test("10.5.8", "A <redirect> dest expression that cannot be evaluated raises error.semantic.",
               '<redirect dest="no_dest_var"/>', scenario=IN, trigger="connection.alerting")

    # ---- 10 call control: disconnect and hangup -----------------------------------------------------
    test("10.5.5", "<disconnect> of a connected call raises connection.disconnected.",
         ep(on("connection.alerting", "<accept/>") + on("connection.connected", "<disconnect/>") + on("connection.disconnected", PASS)), scenario=IN)
    test("10.5.5", "connection.disconnected after <disconnect> carries the connection id.",
         ep(on("connection.alerting", '<assign name="cid" expr="event$.connectionid"/><accept/>') + on("connection.connected", '<disconnect connectionid="cid"/>')
            + on("connection.disconnected", check("event$.connectionid == cid")), pre='<var name="cid"/>'), scenario=IN)
    test("10.5.5", "<disconnect> of a connection that does not exist raises error.semantic.",
         ep(on("ccxml.loaded", '<disconnect connectionid="\'no-such-connection\'"/>') + on("error.*", check("event$.name == 'error.semantic'")), errors=False), scenario=NO_CALL)
    test("10.6", "The caller hanging up raises connection.disconnected.",
         ep(on("connection.alerting", "<accept/>") + on("connection.disconnected", PASS)),
         scenario=IN + '\n[[events]]\nat_ms = 2000\nkind = "hangup"\nconnection = "inbound"\n')
    test("10.6", "After the caller hangs up the Connection is in state DISCONNECTED.",
         ep(on("connection.alerting", "<accept/>") + on("connection.disconnected", check("String(event$.connection.state).toUpperCase().indexOf('DISCONNECTED') >= 0 || event$.connection.state == Connection.DISCONNECTED"))),
         scenario=IN + '\n[[events]]\nat_ms = 2000\nkind = "hangup"\nconnection = "inbound"\n')
    test("10.6", "A hangup during a dialog ends the dialog too: dialog.exit and connection.disconnected both arrive.",
         ep(on("connection.alerting", "<accept/>") + on("connection.connected", '<dialogstart src="\'dialog.vxml\'" connectionid="event$.connectionid"/>')
            + on("dialog.exit", '<assign name="n" expr="n + 1"/><if cond="n == 2">' + PASS + '</if>')
            + on("connection.disconnected", '<assign name="n" expr="n + 1"/><if cond="n == 2">' + PASS + '</if>'), pre='<var name="n" expr="0"/>'),
         files=DF, scenario=IN + '\n[dialogs."*"]\nafter_ms = 60000\n\n[[events]]\nat_ms = 3000\nkind = "hangup"\nconnection = "inbound"\n')
    test("10.5.5", "<disconnect> with a reason expression is accepted.",
         ep(on("connection.alerting", "<accept/>") + on("connection.connected", '<disconnect reason="\'normal\'"/>') + on("connection.disconnected", PASS)), scenario=IN)
    test("10.5.5", "<disconnect> of an alerting (unanswered) call is not an accept: no connection.connected follows.",
         ep(on("connection.alerting", "<disconnect/>") + on("connection.connected", fail("connected")) + on("connection.disconnected", PASS)
            + on("connection.failed", PASS) + on("error.*", PASS), errors=False), scenario=IN)

    # ---- 10 call control: outbound -------------------------------------------------------------------
    cpre = '<var name="cid"/>'
    CALL = on("ccxml.loaded", '<createcall dest="\'tel:+15550100\'" connectionid="cid"/>')
    test("10.5.2", "<createcall> places a call: connection.connected follows when it is answered.",
         ep(CALL + on("connection.connected", PASS), cpre), scenario=NO_CALL)
    test("10.5.2", "<createcall> raises connection.progressing before connection.connected.",
         ep(CALL + on("connection.progressing", '<assign name="reason" expr="\'progressing\'"/>') + on("connection.connected", check("reason == 'progressing'")), cpre),
         scenario=NO_CALL)
    test("10.5.2", "The connectionid attribute of <createcall> receives the new connection's id.",
         ep(CALL + on("connection.connected", check("typeof cid == 'string' && event$.connectionid == cid")), cpre), scenario=NO_CALL)
    test("10.5.2", "The connection of <createcall> is in session.connections at once.",
         ep(on("ccxml.loaded", '<createcall dest="\'tel:+15550100\'" connectionid="cid"/>' + check("session.connections[cid] != undefined")), cpre),
         scenario=NO_CALL)
    test("10.5.2", "An outbound Connection has originator 'local' and the destination in remote.",
         ep(CALL + on("connection.connected", check("event$.connection.originator == 'local' && String(event$.connection.remote).indexOf('15550100') >= 0")), cpre),
         scenario=NO_CALL)
    test("10.5.2", "A busy destination makes the call fail: connection.failed.",
         ep(CALL + on("connection.failed", check("event$.connectionid == cid")) + on("connection.connected", fail("busy call connected")), cpre),
         scenario=NO_CALL + '[calls."tel:+15550100"]\noutcome = "busy"\nafter_ms = 500\n')
    test("10.5.2", "A destination that does not answer within the timeout makes the call fail: connection.failed.",
         ep(on("ccxml.loaded", '<createcall dest="\'tel:+15550100\'" connectionid="cid" timeout="\'5s\'"/>')
            + on("connection.failed", PASS) + on("connection.connected", fail("unanswered call connected")), cpre),
         scenario=NO_CALL + '[calls."tel:+15550100"]\noutcome = "noanswer"\n')
    test("10.5.2", "A call the network fails raises connection.failed.",
         ep(CALL + on("connection.failed", PASS) + on("connection.connected", fail("failed call connected")), cpre),
         scenario=NO_CALL + '[calls."tel:+15550100"]\noutcome = "failed"\nafter_ms = 200\n')
    test("10.5.2", "The dest of <createcall> is an ECMAScript expression.",
         ep(on("ccxml.loaded", '<var name="d" expr="\'tel:+1555\' + \'0100\'"/><createcall dest="d" connectionid="cid"/>') + on("connection.connected", PASS), cpre),
         scenario=NO_CALL)
    error_test("10.5.2", "A <createcall> dest expression that cannot be evaluated raises error.semantic.",
               '<createcall dest="no_dest_here" connectionid="cid"/>', pre=cpre, scenario=NO_CALL)
    test("10.5.2", "<createcall> accepts callerid and aai expressions.",
         ep(on("ccxml.loaded", '<createcall dest="\'tel:+15550100\'" callerid="\'tel:+15550199\'" aai="\'order=42\'" connectionid="cid"/>')
            + on("connection.connected", PASS), cpre), scenario=NO_CALL)
    test("10.5.2", "Two <createcall>s give two distinct connections.",
         ep(on("ccxml.loaded", '<createcall dest="\'tel:+15550100\'" connectionid="c1"/><createcall dest="\'tel:+15550101\'" connectionid="c2"/>')
            + on("connection.connected", '<assign name="n" expr="n + 1"/><if cond="n == 2">' + check("c1 != c2") + '</if>'),
            '<var name="c1"/><var name="c2"/><var name="n" expr="0"/>'), scenario=NO_CALL)
    test("10.5.2", "An outbound call may be disconnected: connection.disconnected follows.",
         ep(CALL + on("connection.connected", '<disconnect connectionid="cid"/>') + on("connection.disconnected", check("event$.connectionid == cid")), cpre),
         scenario=NO_CALL)
    test("10.5.2", "A dialog can run on an outbound connection.",
         ep(CALL + on("connection.connected", '<dialogstart src="\'dialog.vxml\'" connectionid="cid"/>') + on("dialog.started", check("event$.connectionid == cid")), cpre),
         files=DF, scenario=NO_CALL)

    # ---- 10.5.6 join / 10.5.10 unjoin --------------------------------------------------------------
    jpre = '<var name="a"/><var name="b"/>'
    JOIN_SETUP = (on("connection.alerting", '<assign name="a" expr="event$.connectionid"/><accept/>')
                  + on("connection.connected", '<createcall dest="\'tel:+15550100\'" connectionid="b"/>', cond="event$.connectionid == a")
                  )

    def joined(spec, text, on_both, more="", join='<join id1="a" id2="b"/>'):
        test(spec, text, ep(JOIN_SETUP + on("connection.connected", join, cond="event$.connectionid == b") + more + on_both, jpre), scenario=IN)

    joined("10.5.6", "<join> of two connections raises conference.joined.", on("conference.joined", PASS))
    joined("10.5.6", "conference.joined carries id1 and id2 of the joined endpoints.",
           on("conference.joined", check("(event$.id1 == a && event$.id2 == b) || (event$.id1 == b && event$.id2 == a)")))
    joined("10.5.6", "<join duplex='half'> joins one way and raises conference.joined.", on("conference.joined", PASS),
           join='<join id1="a" id2="b" duplex="\'half\'"/>')
    joined("10.5.6", "<join duplex='full'> is accepted (the default).", on("conference.joined", PASS),
           join='<join id1="a" id2="b" duplex="\'full\'"/>')
    joined("10.5.10", "<unjoin> of joined connections raises conference.unjoined.",
           on("conference.joined", '<unjoin id1="a" id2="b"/>') + on("conference.unjoined", PASS))
    joined("10.5.10", "conference.unjoined carries id1 and id2.",
           on("conference.joined", '<unjoin id1="a" id2="b"/>') + on("conference.unjoined", check("(event$.id1 == a && event$.id2 == b) || (event$.id1 == b && event$.id2 == a)")))
    test("10.5.6", "<join> with an unknown id raises an error event.",
         ep(on("connection.alerting", '<accept/>') + on("connection.connected", '<join id1="event$.connectionid" id2="\'no-such-connection\'"/>')
            + on("error.*", PASS) + on("conference.joined", fail("joined an unknown id")), errors=False), scenario=IN)
    test("10.5.10", "<unjoin> of endpoints that are not joined raises an error event.",
         ep(JOIN_SETUP + on("connection.connected", '<unjoin id1="a" id2="b"/>', cond="event$.connectionid == b")
            + on("error.*", PASS) + on("conference.unjoined", fail("unjoined endpoints that were not joined")), jpre, errors=False), scenario=IN)
    test("10.5.10", "<unjoin> with an unknown id raises an error event.",
         ep(on("ccxml.loaded", '<unjoin id1="\'x-none\'" id2="\'y-none\'"/>') + on("error.*", PASS), errors=False), scenario=NO_CALL)
    joined("10.5.5", "Disconnecting a joined connection ends it: connection.disconnected for it.",
           on("conference.joined", '<disconnect connectionid="b"/>') + on("connection.disconnected", check("event$.connectionid == b")))
    joined("10.5.6", "After <join>, a dialog on one leg can still be started (a new media binding).",
           on("conference.joined", '<dialogstart src="\'dialog.vxml\'" connectionid="a"/>') + on("dialog.started", PASS))
    g.TESTS[-1] = g.TESTS[-1][:3] + ({"dialog.vxml": DIALOG},) + g.TESTS[-1][4:]

    # ---- 10 call control: conferences -----------------------------------------------------------------
    kpre = '<var name="conf"/>'
    CREATE = on("ccxml.loaded", '<createconference confname="\'room1\'" conferenceid="conf"/>')
    test("10.5.3", "<createconference> raises conference.created.",
         ep(CREATE + on("conference.created", PASS), kpre), scenario=NO_CALL)
    test("10.5.3", "The conferenceid attribute receives the conference id, equal to event$.conferenceid.",
         ep(CREATE + on("conference.created", check("typeof conf == 'string' && event$.conferenceid == conf")), kpre), scenario=NO_CALL)
    test("10.5.3", "A created conference is in session.conferences.",
         ep(CREATE + on("conference.created", check("session.conferences[conf] != undefined")), kpre), scenario=NO_CALL)
    test("10.5.4", "<destroyconference> raises conference.destroyed.",
         ep(CREATE + on("conference.created", '<destroyconference conferenceid="conf"/>') + on("conference.destroyed", check("event$.conferenceid == conf")), kpre),
         scenario=NO_CALL)
    test("10.5.4", "A destroyed conference leaves session.conferences.",
         ep(CREATE + on("conference.created", '<destroyconference conferenceid="conf"/>') + on("conference.destroyed", check("session.conferences[conf] == undefined")), kpre),
         scenario=NO_CALL)
    test("10.5.4", "<destroyconference> of an unknown conference raises an error event.",
         ep(on("ccxml.loaded", '<destroyconference conferenceid="\'no-such-conference\'"/>') + on("error.*", PASS), errors=False), scenario=NO_CALL)
    test("10.5.6", "A connection joined to a conference raises conference.joined with the conference id.",
         ep(on("connection.alerting", '<accept/>') + on("connection.connected", '<assign name="leg" expr="event$.connectionid"/><createconference confname="\'room2\'" conferenceid="conf"/>')
            + on("conference.created", '<join id1="leg" id2="conf"/>')
            + on("conference.joined", check("event$.id1 == conf || event$.id2 == conf")), kpre + '<var name="leg"/>'), scenario=IN)
    test("10.5.10", "A connection unjoined from a conference raises conference.unjoined.",
         ep(on("connection.alerting", '<accept/>') + on("connection.connected", '<assign name="leg" expr="event$.connectionid"/><createconference confname="\'room3\'" conferenceid="conf"/>')
            + on("conference.created", '<join id1="leg" id2="conf"/>') + on("conference.joined", '<unjoin id1="leg" id2="conf"/>')
            + on("conference.unjoined", PASS), kpre + '<var name="leg"/>'), scenario=IN)
    test("10.5.6", "Three parties: an inbound and two outbound legs all join one conference.",
         ep(on("connection.alerting", '<accept/>')
            + on("connection.connected", '<createconference confname="\'three\'" conferenceid="conf"/><assign name="legs" expr="legs.concat([event$.connectionid])"/>', cond="conf == undefined")
            + on("conference.created", '<join id1="legs[0]" id2="conf"/><createcall dest="\'tel:+15550101\'"/><createcall dest="\'tel:+15550102\'"/>')
            + on("connection.connected", '<join id1="event$.connectionid" id2="conf"/>')
            + on("conference.joined", '<assign name="n" expr="n + 1"/><if cond="n == 3">' + PASS + '</if>'),
            kpre + '<var name="legs" expr="[]"/><var name="n" expr="0"/>'), scenario=IN)
    test("10.5.3", "Two conferences get distinct ids.",
         ep(on("ccxml.loaded", '<createconference confname="\'r1\'" conferenceid="c1"/><createconference confname="\'r2\'" conferenceid="c2"/>')
            + on("conference.created", '<assign name="n" expr="n + 1"/><if cond="n == 2">' + check("c1 != c2") + '</if>'),
            '<var name="c1"/><var name="c2"/><var name="n" expr="0"/>'), scenario=NO_CALL)
    test("10.5.6", "Joining a connection to a destroyed conference raises an error event.",
         ep(on("connection.alerting", '<accept/>') + on("connection.connected", '<assign name="leg" expr="event$.connectionid"/><createconference confname="\'gone\'" conferenceid="conf"/>')
            + on("conference.created", '<destroyconference conferenceid="conf"/>') + on("conference.destroyed", '<join id1="leg" id2="conf"/>')
            + on("error.*", PASS) + on("conference.joined", fail("joined a destroyed conference")), kpre + '<var name="leg"/>', errors=False), scenario=IN)

    # ---- 10.2 connection object, further ----------------------------------------------------------
    test("10.2.2", "A Connection disconnected by the far end is reported for the right connection among several.",
         ep(on("connection.alerting", '<assign name="a" expr="event$.connectionid"/><accept/>')
            + on("connection.connected", '<createcall dest="\'tel:+15550100\'" connectionid="b"/>', cond="event$.connectionid == a")
            + on("connection.disconnected", check("event$.connectionid == a")), jpre),
         scenario=IN + '\n[[events]]\nat_ms = 5000\nkind = "hangup"\nconnection = "inbound"\n')
    test("10.2.1", "Each Connection id is unique within the session.",
         ep(on("connection.alerting", '<assign name="a" expr="event$.connectionid"/><createcall dest="\'tel:+15550100\'" connectionid="b"/>' + check("a != b")), jpre),
         scenario=IN)
    test("10.2.3", "connection.connected events of an inbound call carry the Connection object.",
         ep(on("connection.alerting", "<accept/>") + on("connection.connected", check("event$.connection != undefined && event$.connection.connectionid == event$.connectionid"))),
         scenario=IN)
    test("10.2.2", "The Connection object's connectionid is read-only to the document: assigning it raises error.semantic.",
         ep(on("connection.alerting", '<assign name="session.connections[event$.connectionid].connectionid" expr="\'x\'"/>' + send("test.noerror"))
            + on("error.semantic", PASS) + on("error.*", fail_any()) + on("test.noerror", fail("no error.semantic was raised")), errors=False), scenario=IN)


    # ---- further attributes and events ------------------------------------------------------------
    test("10.5.2", "connection.progressing of an outbound call carries its connectionid.",
         ep(on("ccxml.loaded", '<createcall dest="\'tel:+15550100\'" connectionid="cid"/>')
            + on("connection.progressing", check("event$.connectionid == cid")), '<var name="cid"/>'), scenario=NO_CALL)
    test("10.5.1", "<accept> with a hints expression answers the call.",
         ep(on("connection.alerting", '<var name="h" expr="new Object()"/><accept hints="h"/>') + on("connection.connected", PASS)), scenario=IN)
    dlg("7.2.2", "<dialogstart> with an explicit type application/voicexml+xml starts the dialog.",
        on("dialog.started", PASS),
        start=on("connection.connected", '<dialogstart src="\'dialog.vxml\'" type="\'application/voicexml+xml\'" connectionid="event$.connectionid" dialogid="did"/>'))
    dlg("9.2.3", "<send> with targettype dialog delivers an event to a running dialog: send.successful.",
        on("dialog.started", '<send name="\'app.hello\'" target="did" targettype="\'dialog\'" sendid="sid"/>')
        + on("send.successful", check("event$.sendid == sid")),
        scenario=IN + '\n[dialogs."*"]\nafter_ms = 60000\n', pre='<var name="sid"/>')
    test("4", "A ccxml.kill from the platform is delivered to a transition that handles it.",
         ep(on("ccxml.kill", PASS)),
         scenario=IN + '\n[[events]]\nat_ms = 1000\nkind = "kill"\n')
    test("9.2.3", "A basichttp event arriving later than a delayed self-send is processed in time order.",
         ep(on("ccxml.loaded", send("test.first", ' delay="\'500ms\'"')) + on("test.first", '<assign name="seq" expr="seq + \'1\'"/>')
            + on("myapp.go", check("seq == '1'")), pre='<var name="seq" expr="\'\'"/>'),
         scenario=IN + '\n[[events]]\nat_ms = 2000\nkind = "event"\nname = "myapp.go"\n')
    test("6.2.7", "A <fetch> with method 'post' and a namelist completes with fetch.done.",
         ep(on("ccxml.loaded", '<var name="k" expr="1"/><fetch next="\'b.ccxml\'" method="\'post\'" namelist="k" fetchid="fid"/>')
            + on("fetch.done", PASS), pre_fid),
         files={"b.ccxml": B_PASS})

    # ---- 9.2.4 move: sources handed to another session ------------------------------------------
    # The parent creates a child, then moves the inbound call (which arrives
    # after the child runs) to it; the child reports back with <send>.
    MIN = IN.replace('headers = { X-Foo = "bar" }', 'headers = { X-Foo = "bar" }\nat_ms = 1000')
    mpre = '<var name="sid"/><var name="conn"/>'
    CHILD = on("ccxml.loaded", '<createccxml next="\'child.ccxml\'" sessionid="sid"/>')
    MOVE = on("connection.alerting", '<assign name="conn" expr="event$.connectionid"/><move source="conn" sessionid="sid"/>')

    def to_parent(name, extra=""):
        return '<send name=%s target="session.parentid" targettype="\'ccxml\'"%s/>' % (quoteattr("'" + name + "'"), extra)

    def child(transitions):
        return {"child.ccxml": (ep(transitions, '<var name="conn"/>', errors=False),)}

    IDLE_CHILD = child("")

    def moved(text, transitions, child_doc=IDLE_CHILD, scenario=MIN, errors=True):
        test("9.2.4", text, ep(CHILD + transitions, mpre, errors=errors), child_doc, scenario)

    moved("<move source> hands a connection to another session: the mover gets move.successful naming it.",
          MOVE + on("move.successful", check("event$.sourceid == conn && event$.sessionid == sid")))
    moved("After <move>, the moved connection is no longer in the mover's session.connections.",
          MOVE + on("move.successful", check("session.connections[conn] == undefined")))
    moved("The receiving session has the moved connection in session.connections with its state.",
          MOVE + on("move.successful", '<send name="\'test.check\'" target="sid" targettype="\'ccxml\'" namelist="conn"/>')
          + on("test.ok", PASS) + on("test.bad", fail("the child does not have the connection in state ALERTING")),
          child(on("test.check", '<if cond="session.connections[event$.conn] != undefined &amp;&amp; session.connections[event$.conn].state == \'ALERTING\'">'
                   + to_parent("test.ok") + '<else/>' + to_parent("test.bad") + '</if>')))
    moved("Events of a moved connection go to the receiving session: the far end hanging up reaches it, not the mover.",
          MOVE + on("test.ok", PASS) + on("connection.disconnected", fail("the mover still got the connection's events")),
          child(on("connection.disconnected", to_parent("test.ok"))),
          scenario=MIN + '\n[[events]]\nat_ms = 3000\nkind = "hangup"\nconnection = "inbound"\n')
    moved("<move event> moves the event's source and delivers the event itself to the receiving session.",
          on("connection.alerting", '<move event="event$" sessionid="sid"/>') + on("test.ok", PASS)
          + on("test.bad", fail("the child did not get connection.alerting with its connection")),
          child(on("connection.alerting", '<if cond="event$.connection != undefined &amp;&amp; session.connections[event$.connectionid] != undefined">'
                   + to_parent("test.ok") + '<else/>' + to_parent("test.bad") + '</if>')))
    moved("The receiving session can act on a moved connection: it accepts the call and connection.connected reaches it.",
          on("connection.alerting", '<move event="event$" sessionid="sid"/>') + on("test.ok", PASS),
          child(on("connection.alerting", "<accept/>") + on("connection.connected", to_parent("test.ok"))))
    moved("A <move> to a session that does not exist raises error.move naming the source.",
          on("connection.alerting", '<assign name="conn" expr="event$.connectionid"/><move source="conn" sessionid="\'no-such-session\'"/>')
          + on("error.move", check("event$.sourceid == conn")) + on("move.successful", fail("moved to nowhere")))
    moved("After error.move the source is still the mover's, in its state.",
          on("connection.alerting", '<assign name="conn" expr="event$.connectionid"/><move source="conn" sessionid="\'no-such-session\'"/>')
          + on("error.move", check("session.connections[conn] != undefined && session.connections[conn].state == 'ALERTING'")))
    moved("A connection with media (joined to a dialog) cannot move: error.notallowed.",
          on("connection.alerting", "<accept/>")
          + on("connection.connected", '<dialogstart src="\'dialog.vxml\'" connectionid="event$.connectionid"/><move source="event$.connectionid" sessionid="sid"/>')
          + on("error.notallowed", PASS) + on("move.successful", fail("a joined connection moved")),
          child_doc=dict(IDLE_CHILD, **DF), errors=False)
    test("9.2.4", "A <move> with both source and event is not a valid document: its creator gets error.createccxml.",
         ep(CHILD + on("ccxml.created", fail("the document started")) + on("error.createccxml", PASS), '<var name="sid"/>', errors=False),
         files={"child.ccxml": (ep(on("ccxml.loaded", '<move source="\'c1\'" event="event$" sessionid="session.id"/>')),)})
    moved("A <move> whose source expression cannot be evaluated raises error.semantic.",
          on("connection.alerting", '<move source="no.such.thing" sessionid="sid"/>') + on("error.semantic", PASS), errors=False)

    # ---- 10.5.7 merge ----------------------------------------------------------------------------
    MERGE = on("connection.connected", '<merge connectionid1="a" connectionid2="b"/>', cond="event$.connectionid == b")
    mgpre = jpre + '<var name="n" expr="0"/>'

    def merged(text, transitions, scenario=IN, setup=MERGE):
        test("10.5.7", text, ep(JOIN_SETUP + setup + transitions, mgpre), scenario=scenario)

    MFAIL = IN + '\n[merge]\noutcome = "failed"\nreason = "not supported by the far end"\n'
    merged("<merge> of two connected connections raises connection.merged for each of them.",
           on("connection.merged", '<assign name="n" expr="n + 1"/><if cond="n == 2">' + PASS + '</if>'))
    merged("connection.merged names the other connection in mergeid.",
           on("connection.merged", check("(event$.connectionid == a && event$.mergeid == b) || (event$.connectionid == b && event$.mergeid == a)")))
    merged("After connection.merged the Connection is in state DISCONNECTED.",
           on("connection.merged", check("event$.connection.state == 'DISCONNECTED'")))
    merged("Merged connections leave session.connections once their events are processed.",
           on("connection.merged", '<assign name="n" expr="n + 1"/><if cond="n == 2">' + send("test.after") + '</if>')
           + on("test.after", check("session.connections[a] == undefined && session.connections[b] == undefined")))
    merged("A failed <merge> raises connection.merge.failed naming both connections and a reason.",
           on("connection.merge.failed", check("event$.id1 == a && event$.id2 == b && typeof event$.reason == 'string'"))
           + on("connection.merged", fail("merged")), scenario=MFAIL)
    merged("connection.merge.failed changes neither connection's state: both stay CONNECTED.",
           on("connection.merge.failed", check("session.connections[a].state == 'CONNECTED' && session.connections[b].state == 'CONNECTED'")),
           scenario=MFAIL)
    merged("<merge> is asynchronous: the transition continues and connection.merged comes later.",
           on("connection.merged", check("reason == 'after'")),
           setup=on("connection.connected", '<merge connectionid1="a" connectionid2="b"/><assign name="reason" expr="\'after\'"/>', cond="event$.connectionid == b"))
    error_test("10.5.7", "<merge> of a connection that is not connected raises error.semantic.",
               '<merge connectionid1="event$.connectionid" connectionid2="event$.connectionid"/>', scenario=IN, trigger="connection.alerting")
    test("10.5.7", "<merge> of a connection that does not exist raises error.semantic.",
         ep(on("connection.alerting", '<accept/>') + on("connection.connected", '<merge connectionid1="event$.connectionid" connectionid2="\'no-such-connection\'"/>')
            + on("error.semantic", PASS) + on("connection.merged", fail("merged")), errors=False), scenario=IN)


def fail_any():
    return ('<assign name="reason" expr="\'wrong error \' + event$.name"/><exit expr="\'fail\'" namelist="reason"/>')
